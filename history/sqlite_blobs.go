package history

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// PutBlobs stores blobs; addresses already stored are kept as they are.
func (s *SQLite) PutBlobs(ctx context.Context, blobs []Blob) error {
	if len(blobs) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store snapshot: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, b := range blobs {
		if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO blobs (address, data) VALUES (?, ?)", b.Address, b.Data); err != nil {
			return fmt.Errorf("store snapshot: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store snapshot: %w", err)
	}
	return nil
}

// Blob returns the data stored under address.
func (s *SQLite) Blob(ctx context.Context, address string) ([]byte, error) {
	var data []byte
	err := s.db.QueryRowContext(ctx, "SELECT data FROM blobs WHERE address = ?", address).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("snapshot object %s: %w", address, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read snapshot object %s: %w", address, err)
	}
	return data, nil
}

// SetPin pins app on cluster, or unpins it when pin is nil.
func (s *SQLite) SetPin(ctx context.Context, app, cluster string, pin *Pin) error {
	if pin == nil {
		if _, err := s.db.ExecContext(ctx, "DELETE FROM pins WHERE app = ? AND cluster = ?", app, cluster); err != nil {
			return fmt.Errorf("unpin %s/%s: %w", app, cluster, err)
		}
		return nil
	}
	body, err := json.Marshal(pin)
	if err != nil {
		return fmt.Errorf("pin %s/%s: %w", app, cluster, err)
	}
	if _, err := s.db.ExecContext(ctx, "INSERT OR REPLACE INTO pins (app, cluster, body) VALUES (?, ?, ?)", app, cluster, body); err != nil {
		return fmt.Errorf("pin %s/%s: %w", app, cluster, err)
	}
	return nil
}

// Pins returns every pin, by App and cluster.
func (s *SQLite) Pins(ctx context.Context) ([]Pin, error) { return pinsOf(ctx, s.db) }

// pinsOf reads every pin through a database or a transaction.
func pinsOf(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}) ([]Pin, error) {
	rows, err := q.QueryContext(ctx, "SELECT body FROM pins ORDER BY app, cluster")
	if err != nil {
		return nil, fmt.Errorf("read pins: %w", err)
	}
	defer rows.Close()
	var pins []Pin
	for rows.Next() {
		var body []byte
		var p Pin
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("read pins: %w", err)
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return nil, fmt.Errorf("read pins: %w", err)
		}
		pins = append(pins, p)
	}
	return pins, rows.Err()
}

// SetRollout keeps the state of app's rollout.
func (s *SQLite) SetRollout(ctx context.Context, app string, state []byte) error {
	if _, err := s.db.ExecContext(ctx, "INSERT OR REPLACE INTO rollouts (app, body) VALUES (?, ?)", app, state); err != nil {
		return fmt.Errorf("keep the rollout of %s: %w", app, err)
	}
	return nil
}

// Rollout returns the state of app's rollout, nil when it has none.
func (s *SQLite) Rollout(ctx context.Context, app string) ([]byte, error) {
	var body []byte
	err := s.db.QueryRowContext(ctx, "SELECT body FROM rollouts WHERE app = ?", app).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the rollout of %s: %w", app, err)
	}
	return body, nil
}

// collectBlobs deletes, in tx, the blobs that no begin entry or pin refers to, directly or
// through the blobs they refer to, and that refs does not spare; it returns their addresses.
func collectBlobs(ctx context.Context, tx *sql.Tx, refs BlobRefs) ([]string, error) {
	live := map[string]bool{}
	var queue []string
	reach := func(addresses []string) {
		for _, a := range addresses {
			if !live[a] {
				live[a] = true
				queue = append(queue, a)
			}
		}
	}
	rows, err := tx.QueryContext(ctx, "SELECT "+entryColumns+" FROM entries WHERE phase = ?", string(PhaseBegin))
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		e, err := scanEntry(rows)
		var addresses []string
		if err == nil {
			addresses, err = refs.EntryRefs(e)
		}
		if err != nil {
			rows.Close()
			return nil, err
		}
		reach(addresses)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	pins, err := pinsOf(ctx, tx)
	if err != nil {
		return nil, err
	}
	for _, p := range pins {
		reach(refs.PinRefs(p))
	}
	for len(queue) > 0 {
		address := queue[0]
		queue = queue[1:]
		var data []byte
		err := tx.QueryRowContext(ctx, "SELECT data FROM blobs WHERE address = ?", address).Scan(&data)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, err
		}
		children, err := refs.DataRefs(address, data)
		if err != nil {
			return nil, err
		}
		reach(children)
	}
	var dead []string
	rows, err = tx.QueryContext(ctx, "SELECT address FROM blobs")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var address string
		if err := rows.Scan(&address); err != nil {
			rows.Close()
			return nil, err
		}
		if !live[address] && !refs.Spare(address) {
			dead = append(dead, address)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	for _, address := range dead {
		if _, err := tx.ExecContext(ctx, "DELETE FROM blobs WHERE address = ?", address); err != nil {
			return nil, err
		}
	}
	return dead, nil
}
