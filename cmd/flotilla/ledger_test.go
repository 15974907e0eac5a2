package main

import (
	"encoding/json"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/history"
)

// TestAgentAndSyncRefuseALedgerTheyCannotUse: a state folder whose ledger file is not a ledger
// stops the agent and a direct sync before they write or fetch anything, saying so, and the file
// is left as it is; a direct sync records into the state folder's ledger, as the OS user.
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
		t.Errorf("sync of an empty render: exit %d, want 1 and a summary\n%s%s", res.code, res.stdout, res.stderr)
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	var changes []history.Change
	res := flotilla(t, "history", "--state", fresh, "-o", "json")
	if err := json.Unmarshal([]byte(res.stdout), &changes); err != nil || len(changes) != 3 {
		t.Fatalf("history after a direct sync of 3 clusters: %v, want 3 changes\n%s%s", err, res.stdout, res.stderr)
	}
	for _, c := range changes {
		if c.Trigger != history.TriggerManual || c.Actor.User != me.Username || c.Result != "Refused" || c.App != "settings" {
			t.Errorf("a direct sync recorded %s %s by %q: %s; want a manual change by %s, Refused", c.App, c.Cluster, c.Actor, c.Result, me.Username)
		}
	}
	if res := flotilla(t, "audit", "verify", "--state", fresh); res.code != 0 || res.stdout != "ledger intact: 3 changes (entries 1–6)\n" {
		t.Errorf("audit verify of the ledger a direct sync recorded into: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}
