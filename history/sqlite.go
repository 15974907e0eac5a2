package history

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", pure Go
)

// applicationID marks an SQLite file as a Flotilla ledger ("FLOT").
const applicationID = 0x464c4f54

// migrations bring the schema from version i to i+1; SchemaVersion is how many there are.
var migrations = []string{
	`CREATE TABLE entries (
		seq INTEGER PRIMARY KEY, change_id INTEGER NOT NULL, phase TEXT NOT NULL, at INTEGER NOT NULL,
		app TEXT NOT NULL, cluster TEXT NOT NULL, trigger_name TEXT NOT NULL, revision TEXT NOT NULL,
		author TEXT NOT NULL, result TEXT NOT NULL, body BLOB NOT NULL, prev_seal TEXT NOT NULL, seal TEXT NOT NULL);
	CREATE INDEX entries_pair ON entries(app, cluster, seq);
	CREATE INDEX entries_change ON entries(change_id);
	CREATE TABLE blobs (id INTEGER PRIMARY KEY, address TEXT NOT NULL UNIQUE, data BLOB NOT NULL);
	CREATE TABLE pins (app TEXT NOT NULL, cluster TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY (app, cluster));
	CREATE TABLE marks (kind TEXT PRIMARY KEY, seq INTEGER NOT NULL, seal TEXT NOT NULL, self TEXT NOT NULL);`,
	// 2: where each App's rollout along its waves stands (see rollouts.go).
	`CREATE TABLE rollouts (app TEXT PRIMARY KEY, body BLOB NOT NULL);`,
}

// SchemaVersion is the ledger schema this Flotilla writes.
var SchemaVersion = len(migrations)

// SQLite is the embedded Store: one SQLite file in WAL mode. Several processes may use one
// file (the agent and a CLI run): writers wait for each other up to the busy timeout.
type SQLite struct {
	db   *sql.DB
	path string
}

// BusyTimeout is how long a write waits for another writer of the same file before it fails
// ("database is locked"): then nothing is applied and the error says why.
const BusyTimeout = 5000 // milliseconds

// ErrForeign: the file is not a Flotilla ledger; ErrNewerSchema: a newer Flotilla wrote it.
var (
	ErrForeign     = errors.New("not a Flotilla ledger")
	ErrNewerSchema = errors.New("ledger written by a newer Flotilla")
	ErrCorrupt     = errors.New("ledger database is corrupt")
)

// OpenSQLite opens (creating it, and its folder, if missing) the ledger database at path and
// brings its schema up to date. A file that is not SQLite, or an SQLite file that is not a
// Flotilla ledger, is refused (ErrForeign) and left as it is; so is a ledger of a newer schema
// (ErrNewerSchema) and one that fails SQLite's quick integrity check (ErrCorrupt), which reads
// the whole file: this is the open of the process that writes (the agent, a CLI sync).
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	return openSQLite(ctx, path, false)
}

// OpenSQLiteReadOnly opens an existing ledger database to read it: nothing is created or
// migrated (a reader must not change the schema under the agent that writes it). A file that
// is not a ledger, or a ledger of a newer schema, is refused as OpenSQLite refuses it; one of an
// older schema is read as it is. It checks only what the file's header says (application id,
// schema version), so that it costs the same on a ledger of any size; the integrity check that
// reads the whole file is OpenSQLite's and CheckIntegrity's (audit verify).
func OpenSQLiteReadOnly(ctx context.Context, path string) (*SQLite, error) {
	return openSQLite(ctx, path, true)
}

func openSQLite(ctx context.Context, path string, readOnly bool) (*SQLite, error) {
	if readOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("open the ledger: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create the ledger's folder: %w", err)
	}
	if err := checkHeader(path); err != nil {
		return nil, err
	}
	if err := checkOwner(ctx, path); err != nil {
		return nil, err
	}
	q := url.Values{}
	if readOnly {
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeout))
		q.Set("mode", "ro")
	} else {
		// Made here, not by SQLite, so that it is readable by its owner only (as its WAL then
		// is).
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create the ledger: %w", err)
		}
		f.Close()
		// FULL: a change recorded as begun stays recorded through a power loss (each commit
		// syncs the WAL; 0.4 ms an entry here).
		for _, p := range []string{fmt.Sprintf("busy_timeout(%d)", BusyTimeout), "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"} {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", "immediate")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open the ledger %s: %w", path, err)
	}
	s := &SQLite{db: db, path: path}
	check := s.migrate
	if readOnly {
		check = s.checkVersion
	}
	if err := check(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	return s, nil
}

// checkHeader refuses an existing, non-empty file that is not an SQLite database.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open the ledger: %w", err)
	}
	defer f.Close()
	header := make([]byte, 16)
	n, err := io.ReadFull(f, header)
	if n == 0 && (err == io.EOF || err == nil) {
		return nil
	}
	if !bytes.Equal(header[:n], []byte("SQLite format 3\x00")) {
		return fmt.Errorf("%s: %w (not an SQLite database); move it away or point --state elsewhere", path, ErrForeign)
	}
	return nil
}

// checkOwner opens an existing file read-only first, and refuses it unless it is a ledger
// (or empty): the read-write open that follows switches the file to WAL mode, which must not
// happen to someone else's database.
func checkOwner(ctx context.Context, path string) error {
	if info, err := os.Stat(path); err != nil || info.Size() == 0 {
		return nil
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return fmt.Errorf("open the ledger %s: %w", path, err)
	}
	defer db.Close()
	var app, tables int
	if err := db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&app); err != nil {
		return fmt.Errorf("ledger %s: %w: %w", path, ErrCorrupt, err)
	}
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&tables); err != nil {
		return fmt.Errorf("ledger %s: %w: %w", path, ErrCorrupt, err)
	}
	if app != applicationID && (app != 0 || tables > 0) {
		return fmt.Errorf("ledger %s: %w: an SQLite database of another application (id %#x); move it away or point --state elsewhere", path, ErrForeign, app)
	}
	return nil
}

// migrate checks the file is ours, of a schema this Flotilla knows, intact, and applies the
// migrations it lacks.
func (s *SQLite) migrate(ctx context.Context) error {
	var app, version int
	var tables int
	if err := s.db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&app); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&tables); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	switch {
	case app == 0 && tables == 0: // new
	case app != applicationID:
		return fmt.Errorf("%w: an SQLite database of another application (id %#x); move it away or point --state elsewhere", ErrForeign, app)
	case version > SchemaVersion:
		return fmt.Errorf("%w: schema version %d, this Flotilla knows up to %d; upgrade Flotilla", ErrNewerSchema, version, SchemaVersion)
	default:
		if err := s.quickCheck(ctx); err != nil {
			return err
		}
	}
	for v := version; v < SchemaVersion; v++ {
		tx, err := s.db.BeginTx(ctx, nil) // IMMEDIATE: one process migrates at a time
		if err != nil {
			return fmt.Errorf("migrate to schema %d: %w", v+1, err)
		}
		var now int
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&now); err == nil && now > v {
			_ = tx.Rollback() // another process got there first
			continue
		}
		_, err = tx.ExecContext(ctx, migrations[v])
		if err == nil {
			_, err = tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d; PRAGMA user_version = %d", applicationID, v+1))
		}
		if err == nil {
			err = tx.Commit()
		} else {
			_ = tx.Rollback()
		}
		if err != nil {
			return fmt.Errorf("migrate to schema %d: %w", v+1, err)
		}
	}
	return nil
}

// quickCheck runs SQLite's quick integrity check and refuses a database that fails it, with
// the first problem SQLite names.
func (s *SQLite) quickCheck(ctx context.Context) error {
	var check string
	err := s.db.QueryRowContext(ctx, "PRAGMA quick_check(1)").Scan(&check)
	switch {
	case err != nil:
		return fmt.Errorf("%w: SQLite cannot read it (%w); restore it from a backup, or move it away (keep it for the audit) to start a new ledger", ErrCorrupt, err)
	case check != "ok":
		return fmt.Errorf("%w: SQLite's integrity check says %q; restore it from a backup, or move it away (keep it for the audit) to start a new ledger", ErrCorrupt, strings.TrimSpace(check))
	}
	return nil
}

// checkVersion refuses a database that is not a ledger or is of a newer schema, for a reader:
// from the header only (no integrity check, see OpenSQLiteReadOnly).
func (s *SQLite) checkVersion(ctx context.Context) error {
	var app, version int
	if err := s.db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&app); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	switch {
	case app != applicationID:
		return fmt.Errorf("%w: an SQLite database of another application (id %#x)", ErrForeign, app)
	case version > SchemaVersion:
		return fmt.Errorf("%w: schema version %d, this Flotilla knows up to %d; upgrade Flotilla", ErrNewerSchema, version, SchemaVersion)
	}
	return nil
}

// CheckIntegrity runs SQLite's quick integrity check over the whole file (ErrCorrupt when it
// fails). Ledger.Verify runs it before it checks the chain.
func (s *SQLite) CheckIntegrity(ctx context.Context) error {
	if err := s.quickCheck(ctx); err != nil {
		return fmt.Errorf("ledger %s: %w", s.path, err)
	}
	return nil
}

// Path is the database file.
func (s *SQLite) Path() string { return s.path }

// Close closes the database.
func (s *SQLite) Close() error { return s.db.Close() }
