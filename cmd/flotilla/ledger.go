package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/flotilla-dev/flotilla/history"
)

// openLedger opens the change ledger of a state folder for a process that makes changes (the
// agent, or `flotilla sync` without one), creating it on first use. A file that is not a
// Flotilla ledger, a corrupt one or one of a newer Flotilla is refused and left as it is; so is
// a ledger whose key file is gone (see checkLedgerKey). Close the ledger when done.
func openLedger(ctx context.Context, stateDir string) (*history.Ledger, error) {
	if err := checkLedgerKey(ctx, stateDir); err != nil {
		return nil, err
	}
	ledger, err := history.Open(ctx, stateDir)
	if err != nil {
		return nil, ledgerRefused(err)
	}
	return ledger, nil
}

// closeInterrupted closes as Interrupted the changes that processes killed before they
// finished them left open in the ledger (the agent's Run does the same when it starts), and
// warns of each.
func closeInterrupted(ctx context.Context, ledger *history.Ledger, logger *slog.Logger) error {
	closed, err := ledger.CloseInterrupted(ctx)
	if err != nil {
		return fmt.Errorf("close the changes killed processes left open in the ledger: %w", err)
	}
	for _, c := range closed {
		logger.Warn("a change was interrupted: the process making it stopped before it finished", "change", c.ID, "app", c.App, "cluster", c.Cluster, "started", c.Started)
	}
	return nil
}

// cliActor is who a change made by this process was asked by: the OS user running it.
func cliActor() history.Actor {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return history.Actor{User: u.Username}
	}
	if name := os.Getenv("USER"); name != "" {
		return history.Actor{User: name}
	}
	return history.Actor{User: fmt.Sprintf("uid %d", os.Getuid())}
}

// errNoLedger: the state folder holds no ledger yet.
var errNoLedger = errors.New("no changes recorded yet")

// openLedgerToRead opens the ledger a state folder already holds, for the commands that read
// it (history, audit) when no agent answers for it. It creates nothing: a folder without a
// ledger is errNoLedger, and a ledger without its key file is refused rather than given a new
// key.
func openLedgerToRead(ctx context.Context, stateDir string) (*history.Ledger, error) {
	if _, err := os.Stat(filepath.Join(stateDir, history.DatabaseFile)); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s", errNoLedger, stateDir)
	}
	if err := checkLedgerKey(ctx, stateDir); err != nil {
		return nil, err
	}
	ledger, err := history.Open(ctx, stateDir)
	if err != nil {
		return nil, ledgerRefused(err)
	}
	return ledger, nil
}

// checkLedgerKey refuses a ledger whose key file is missing: history.Open would make a new key,
// under which no seal of the ledger verifies and the Secrets of its snapshots cannot be read.
// A database file that is not a ledger at all is refused as such (ledgerRefused).
func checkLedgerKey(ctx context.Context, stateDir string) error {
	db, key := filepath.Join(stateDir, history.DatabaseFile), filepath.Join(stateDir, history.KeyFile)
	if info, err := os.Stat(db); err != nil || info.Size() == 0 {
		return nil // no ledger yet (or one that history.Open reports on)
	}
	if _, err := os.Stat(key); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	store, err := history.OpenSQLite(ctx, db)
	if err != nil {
		return ledgerRefused(err)
	}
	store.Close()
	return fmt.Errorf("the change ledger %s has lost its key file %s: without it the ledger cannot be verified, nor the Secrets of its snapshots read; put the key file back from a backup, or move %s away (keep it for the audit) to start a new ledger", db, key, history.DatabaseFile)
}

// ledgerRefused says that the state folder's ledger file cannot be used, and what to do.
func ledgerRefused(err error) error {
	if !errors.Is(err, history.ErrForeign) && !errors.Is(err, history.ErrCorrupt) && !errors.Is(err, history.ErrNewerSchema) {
		return fmt.Errorf("open the change ledger: %w", err)
	}
	// Most of history's refusals say what to do; a file SQLite cannot read at all does not.
	advice := ""
	if errors.Is(err, history.ErrCorrupt) && !strings.Contains(err.Error(), "move it away") {
		advice = "; restore it from a backup, or move it away (keep it for the audit) to start a new ledger"
	}
	return fmt.Errorf("change ledger refused, and left as it is: %w%s", err, advice)
}
