package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

const entryColumns = "seq, change_id, phase, at, app, cluster, trigger_name, revision, author, result, body, prev_seal, seal"

// Append adds e at the end of the ledger, sealed (see Store.Append). The transaction takes the
// write lock first (BEGIN IMMEDIATE), so two writers never read the same last entry.
func (s *SQLite) Append(ctx context.Context, e *Entry, sealer Sealer) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("append to the ledger: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := appendTx(ctx, tx, e, sealer); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("append to the ledger: %w", err)
	}
	return nil
}

// appendTx appends e in tx, which holds the write lock (see Append).
func appendTx(ctx context.Context, tx *sql.Tx, e *Entry, sealer Sealer) error {
	var last int64
	var prev string
	err := tx.QueryRowContext(ctx, "SELECT seq, seal FROM entries ORDER BY seq DESC LIMIT 1").Scan(&last, &prev)
	if errors.Is(err, sql.ErrNoRows) {
		var anchor Mark
		anchor, err = markOf(ctx, tx, "anchor")
		last, prev = anchor.Seq, anchor.Seal
	}
	if err != nil {
		return fmt.Errorf("append to the ledger: read the last entry: %w", err)
	}
	e.Seq, e.PrevSeal = last+1, prev
	if e.Phase == PhaseBegin {
		e.Change = e.Seq
	}
	e.Seal = sealer.Seal(e)
	_, err = tx.ExecContext(ctx, "INSERT INTO entries ("+entryColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		e.Seq, e.Change, string(e.Phase), e.At.UnixNano(), e.App, e.Cluster, string(e.Trigger), e.Revision, e.Author,
		string(e.Result), e.Body, e.PrevSeal, e.Seal)
	if err != nil {
		return fmt.Errorf("append to the ledger: %w", err)
	}
	head := Mark{Seq: e.Seq, Seal: e.Seal}
	head.Self = sealer.SealMark("head", head)
	if err := setMark(ctx, tx, "head", head); err != nil {
		return fmt.Errorf("append to the ledger: %w", err)
	}
	return nil
}

// querier is a database or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// markOf reads a mark (the zero Mark when there is none).
func markOf(ctx context.Context, q querier, kind string) (Mark, error) {
	var m Mark
	err := q.QueryRowContext(ctx, "SELECT seq, seal, self FROM marks WHERE kind = ?", kind).Scan(&m.Seq, &m.Seal, &m.Self)
	if errors.Is(err, sql.ErrNoRows) {
		return Mark{}, nil
	}
	if err != nil {
		return m, fmt.Errorf("read the ledger's %s: %w", kind, err)
	}
	return m, nil
}

func setMark(ctx context.Context, q querier, kind string, m Mark) error {
	_, err := q.ExecContext(ctx, "INSERT OR REPLACE INTO marks (kind, seq, seal, self) VALUES (?, ?, ?, ?)", kind, m.Seq, m.Seal, m.Self)
	return err
}

// Entries returns the entries f selects, newest first.
// entryConditions turns the filter into a WHERE clause's conditions and their arguments.
func entryConditions(f EntryFilter) (where []string, args []any) {
	add := func(clause string, arg any) {
		where = append(where, clause)
		args = append(args, arg)
	}
	if f.Phase != "" {
		add("phase = ?", string(f.Phase))
	}
	if f.App != "" {
		add("app = ?", f.App)
	}
	if f.Cluster != "" {
		add("cluster = ?", f.Cluster)
	}
	if !f.Since.IsZero() {
		add("at >= ?", f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		add("at < ?", f.Until.UnixNano())
	}
	if f.Author != "" {
		add("instr(lower(author), ?) > 0", strings.ToLower(f.Author))
	}
	if f.Revision != "" {
		add("substr(revision, 1, ?) = ?", len(f.Revision))
		args = append(args, strings.ToLower(f.Revision))
	}
	if f.Trigger != "" {
		add("trigger_name = ?", string(f.Trigger))
	}
	if f.Changes != nil {
		marks := strings.TrimSuffix(strings.Repeat("?,", len(f.Changes)), ",")
		where = append(where, "change_id IN ("+marks+")")
		for _, id := range f.Changes {
			args = append(args, id)
		}
	}
	if len(f.Results) > 0 {
		where = append(where, "result IN ("+strings.TrimSuffix(strings.Repeat("?,", len(f.Results)), ",")+")")
		for _, r := range f.Results {
			args = append(args, string(r))
		}
	}
	if f.SeqFrom > 0 {
		add("seq >= ?", f.SeqFrom)
	}
	if f.SeqBefore > 0 {
		add("seq < ?", f.SeqBefore)
	}
	if f.Unfinished {
		where = append(where, "phase = 'begin' AND NOT EXISTS (SELECT 1 FROM entries AS e WHERE e.change_id = entries.change_id AND e.phase = 'end')")
	}
	return where, args
}

func (s *SQLite) Entries(ctx context.Context, f EntryFilter) ([]Entry, error) {
	if f.Changes != nil && len(f.Changes) == 0 {
		return nil, nil
	}
	where, args := entryConditions(f)
	query := "SELECT " + entryColumns + " FROM entries"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY seq DESC"
	if f.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read the ledger: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the ledger: %w", err)
	}
	return out, nil
}

// Chain reads the anchor, every entry and the head in one read transaction (see Store.Chain).
// The transaction is a plain BEGIN on a connection of its own: it takes no write lock, so the
// agent appends on while a verification reads.
func (s *SQLite) Chain(ctx context.Context, fn func(anchor Mark, e Entry) error) (anchor, head Mark, err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return anchor, head, fmt.Errorf("read the ledger: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return anchor, head, fmt.Errorf("read the ledger: %w", err)
	}
	defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), "COMMIT") }()
	if anchor, err = markOf(ctx, conn, "anchor"); err != nil {
		return anchor, head, err
	}
	rows, err := conn.QueryContext(ctx, "SELECT "+entryColumns+" FROM entries ORDER BY seq")
	if err != nil {
		return anchor, head, fmt.Errorf("read the ledger: %w", err)
	}
	for rows.Next() {
		e, err := scanEntry(rows)
		if err == nil {
			err = fn(anchor, e)
		}
		if err != nil {
			rows.Close()
			return anchor, head, err
		}
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return anchor, head, fmt.Errorf("read the ledger: %w", err)
	}
	rows.Close()
	head, err = markOf(ctx, conn, "head")
	return anchor, head, err
}

// Scan calls fn with every entry from seq from on, oldest first.
func (s *SQLite) Scan(ctx context.Context, from int64, fn func(Entry) error) error {
	rows, err := s.db.QueryContext(ctx, "SELECT "+entryColumns+" FROM entries WHERE seq >= ? ORDER BY seq", from)
	if err != nil {
		return fmt.Errorf("read the ledger: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the ledger: %w", err)
	}
	return nil
}

func scanEntry(rows *sql.Rows) (Entry, error) {
	var e Entry
	var phase, trigger, result string
	var at int64
	err := rows.Scan(&e.Seq, &e.Change, &phase, &at, &e.App, &e.Cluster, &trigger, &e.Revision, &e.Author, &result, &e.Body, &e.PrevSeal, &e.Seal)
	if err != nil {
		return e, fmt.Errorf("read the ledger: %w", err)
	}
	e.Phase, e.Trigger, e.Result, e.At = Phase(phase), Trigger(trigger), Result(result), time.Unix(0, at).UTC()
	return e, nil
}

// Head returns the mark of the last entry appended.
func (s *SQLite) Head(ctx context.Context) (Mark, error) { return markOf(ctx, s.db, "head") }

// Anchor returns the mark the first kept entry follows.
func (s *SQLite) Anchor(ctx context.Context) (Mark, error) { return markOf(ctx, s.db, "anchor") }

// Drop deletes the entries up to anchor.Seq, records the anchor and deletes the blobs nothing
// kept refers to (see Store.Drop), in one transaction.
func (s *SQLite) Drop(ctx context.Context, anchor Mark, refs BlobRefs) ([]string, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("drop old entries: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, "DELETE FROM entries WHERE seq <= ?", anchor.Seq); err != nil {
		return nil, fmt.Errorf("drop old entries: %w", err)
	}
	if err := setMark(ctx, tx, "anchor", anchor); err != nil {
		return nil, fmt.Errorf("drop old entries: %w", err)
	}
	var deleted []string
	if refs != nil {
		if deleted, err = collectBlobs(ctx, tx, refs); err != nil {
			return nil, fmt.Errorf("drop old entries: delete the snapshots nothing kept refers to: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("drop old entries: %w", err)
	}
	return deleted, nil
}

// Pairs returns every App × Cluster that has an entry, by App and cluster.
func (s *SQLite) Pairs(ctx context.Context) ([]Pair, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT DISTINCT app, cluster FROM entries ORDER BY app, cluster")
	if err != nil {
		return nil, fmt.Errorf("read the ledger: %w", err)
	}
	defer rows.Close()
	var pairs []Pair
	for rows.Next() {
		var p Pair
		if err := rows.Scan(&p.App, &p.Cluster); err != nil {
			return nil, fmt.Errorf("read the ledger: %w", err)
		}
		pairs = append(pairs, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the ledger: %w", err)
	}
	return pairs, nil
}
