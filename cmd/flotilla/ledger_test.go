package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/history"
)

// TestAgentAndSyncRefuseALedgerTheyCannotUse: a state folder whose ledger file is not a ledger
// stops the agent and a direct sync before they write or fetch anything, saying so, and the file
// is left as it is; a state folder without a ledger gets one from a direct sync.
func TestAgentAndSyncRefuseALedgerTheyCannotUse(t *testing.T) {
	cfg, _ := errorsFleet(t, "fleet.git", "{branch: main}")
	state := t.TempDir()
	db := filepath.Join(state, history.DatabaseFile)
	const foreign = "hello, not a database\n"
	writeFile(t, db, foreign)
	for _, args := range [][]string{
		{"agent", "--config", cfg, "--state", state, "--listen", "127.0.0.1:0", "--cache-dir", t.TempDir()},
		{"sync", "--config", cfg, "--state", state, "--cache-dir", t.TempDir()},
	} {
		res := flotilla(t, args...)
		want := "change ledger refused, and left as it is: " + db + ": not a Flotilla ledger (not an SQLite database); move it away or point --state elsewhere"
		if res.code != 1 || !strings.Contains(res.stderr, want) || strings.Contains(res.stderr, "fetching") {
			t.Errorf("flotilla %s: exit %d, stderr %q; want exit 1 and %q, before any fetch", args[0], res.code, res.stderr, want)
		}
		if b, _ := os.ReadFile(db); string(b) != foreign {
			t.Errorf("flotilla %s changed the refused file", args[0])
		}
		if files, _ := os.ReadDir(state); len(files) != 1 {
			t.Errorf("flotilla %s wrote to the state folder before refusing: %v", args[0], files)
		}
	}

	fresh := t.TempDir()
	if res := flotilla(t, "sync", "--config", cfg, "--state", fresh, "--cache-dir", t.TempDir()); res.code != 1 || !strings.Contains(res.stdout, "dev-3") {
		t.Errorf("sync of unreachable clusters: exit %d, want 1 and a summary\n%s%s", res.code, res.stdout, res.stderr)
	}
	for _, name := range []string{history.DatabaseFile, history.KeyFile} {
		if _, err := os.Stat(filepath.Join(fresh, name)); err != nil {
			t.Errorf("a direct sync did not open the state folder's ledger: %v", err)
		}
	}
	if res := flotilla(t, "audit", "verify", "--state", fresh); res.code != 0 {
		t.Errorf("audit verify of the ledger a direct sync opened: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}
