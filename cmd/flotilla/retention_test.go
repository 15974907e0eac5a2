package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/history"
)

// TestRetentionArchivesThenDrops: the agent's retention appends what it drops to the state
// folder's archive, which audit verify --file accepts, and the ledger stays verifiable.
func TestRetentionArchivesThenDrops(t *testing.T) {
	ctx := context.Background()
	state := testLedger(t)
	ledger, err := history.Open(ctx, state)
	if err != nil {
		t.Fatal(err)
	}
	err = retain(ctx, ledger, state, history.Retention{MaxChanges: 1}, slog.New(slog.DiscardHandler))
	ledger.Close()
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(state, archiveFile)
	data, err := os.ReadFile(archive)
	if err != nil || strings.Count(string(data), "\n") != 7 || !strings.Contains(string(data), `{"trailer":{"entries":6,`) {
		t.Fatalf("archive: %d lines, %v; want the 6 entries of the 3 older changes and a trailer", strings.Count(string(data), "\n"), err)
	}
	if info, _ := os.Stat(archive); info.Mode().Perm() != 0o600 {
		t.Errorf("archive mode %v, want 0600", info.Mode().Perm())
	}
	if res := flotilla(t, "history", "--state", state, "-o", "json"); res.code != 0 || len(changeIDs(t, res)) != 1 {
		t.Errorf("history after retention: exit %d, %s", res.code, res.stdout)
	}
	for _, args := range [][]string{{"audit", "verify", "--state", state}, {"audit", "verify", "--state", state, "--file", archive}} {
		if res := flotilla(t, args...); res.code != 0 || strings.Contains(res.stdout, "warning") {
			t.Errorf("%v: exit %d, %s%s", args, res.code, res.stdout, res.stderr)
		}
	}
}
