package history

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func execSQLite(dir, sql string) (string, error) {
	out, err := exec.Command("sqlite3", filepath.Join(dir, DatabaseFile), sql).CombinedOutput()
	return string(out), err
}

// refusal is a state folder prepared with something Open must refuse.
type refusal struct {
	name    string
	prepare func(t *testing.T, dir string)
	want    error
	inText  string
	// deep says that only the integrity check over the whole file finds it (not the header).
	deep bool
}

func refusals(ctx context.Context) []refusal {
	return []refusal{
		{"a text file", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, DatabaseFile), []byte("hello, not a database\n"), 0o600)
		}, ErrForeign, "not an SQLite database", false},
		{"another application's SQLite file", func(t *testing.T, dir string) {
			if out, err := execSQLite(dir, "CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('mine')"); err != nil {
				t.Fatal(out)
			}
		}, ErrForeign, "another application", false},
		{"a newer schema", func(t *testing.T, dir string) {
			l, err := Open(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			l.Close()
			if out, err := execSQLite(dir, "PRAGMA user_version = 99"); err != nil {
				t.Fatal(out)
			}
		}, ErrNewerSchema, "schema version 99, this Flotilla knows up to 2", false},
		{"a corrupt file", func(t *testing.T, dir string) {
			l, err := Open(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			for range 50 {
				record(t, l, change("shop", "east", "aaaa", TriggerPoll, "Healthy"))
			}
			l.Close()
			path := filepath.Join(dir, DatabaseFile)
			b, _ := os.ReadFile(path)
			for i := 4096; i < len(b) && i < 3*4096; i++ {
				b[i] = 0xff
			}
			os.WriteFile(path, b, 0o600)
		}, ErrCorrupt, "", true},
	}
}

func TestOpenRefusesWhatIsNotItsOwn(t *testing.T) {
	ctx := context.Background()
	for _, tc := range refusals(ctx) {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.prepare(t, dir)
			before, _ := os.ReadFile(filepath.Join(dir, DatabaseFile))
			l, err := Open(ctx, dir)
			if err == nil {
				l.Close()
				t.Fatal("opened")
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.inText) {
				t.Errorf("error %q; want %v saying %q", err, tc.want, tc.inText)
			}
			after, _ := os.ReadFile(filepath.Join(dir, DatabaseFile))
			if string(before) != string(after) {
				t.Error("the refused file was changed")
			}
		})
	}
}

// TestOpenReadOnlyChecksTheHeaderOnly: a reader's open (flotilla history, audit) refuses what
// the file's header shows (not SQLite, another application's, a newer schema), even without a
// key file, but does not read the whole file: a page corrupt in the middle is found by Verify
// (audit verify), which says so as ErrCorrupt.
func TestOpenReadOnlyChecksTheHeaderOnly(t *testing.T) {
	ctx := context.Background()
	for _, tc := range refusals(ctx) {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.prepare(t, dir)
			before, _ := os.ReadFile(filepath.Join(dir, DatabaseFile))
			l, err := OpenReadOnly(ctx, dir)
			switch {
			case tc.deep && err != nil:
				t.Fatalf("read-only open of a ledger whose header is intact: %v; want it opened", err)
			case tc.deep:
				_, verr := l.Verify(ctx)
				l.Close()
				if !errors.Is(verr, ErrCorrupt) || !strings.Contains(verr.Error(), "integrity check") {
					t.Errorf("verify of the corrupt ledger: %v; want ErrCorrupt naming the integrity check", verr)
				}
			case err == nil:
				l.Close()
				t.Fatal("opened")
			case !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.inText):
				t.Errorf("error %q; want %v saying %q", err, tc.want, tc.inText)
			}
			after, _ := os.ReadFile(filepath.Join(dir, DatabaseFile))
			if string(before) != string(after) {
				t.Error("the file was changed")
			}
		})
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	info, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", info, err)
	}
	os.Chmod(filepath.Join(dir, KeyFile), 0o644)
	if _, err := Open(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a key file others can read: %v; want a refusal saying chmod 600", err)
	}
}

func TestOpenRefusesALedgerWithoutItsKey(t *testing.T) {
	ctx := context.Background()
	l, dir := openTest(t)
	record(t, l, change("shop", "east", "aaaa", TriggerPoll, "Healthy"))
	l.Close()
	if info, err := os.Stat(filepath.Join(dir, DatabaseFile)); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("database file: %v, %v; want mode 0600", info, err)
	}
	os.Remove(filepath.Join(dir, KeyFile))
	_, err := Open(ctx, dir)
	if !errors.Is(err, ErrKeyMissing) {
		t.Fatalf("open without the key: %v; want ErrKeyMissing", err)
	}
	if _, err := os.Stat(filepath.Join(dir, KeyFile)); err == nil {
		t.Error("a new key file was made for the old ledger")
	}
}
