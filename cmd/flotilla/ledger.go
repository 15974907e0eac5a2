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
// a ledger whose key file is gone. Close the ledger when done.
func openLedger(ctx context.Context, stateDir string) (*history.Ledger, error) {
	ledger, err := history.Open(ctx, stateDir)
	if err != nil {
		return nil, ledgerRefused(err)
	}
	return ledger, nil
}

// openStateLedger opens the ledger of the state folder (state, or the default one) for a change
// made by this process, after closing the changes killed processes left open; it returns the
// folder too. Close the ledger when done.
func openStateLedger(ctx context.Context, state string, logger *slog.Logger) (*history.Ledger, string, error) {
	stateDir, err := agentStateDir(state)
	if err != nil {
		return nil, "", err
	}
	ledger, err := openLedger(ctx, stateDir)
	if err != nil {
		return nil, "", err
	}
	if err := closeInterrupted(ctx, ledger, logger); err != nil {
		ledger.Close()
		return nil, "", err
	}
	return ledger, stateDir, nil
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
	ledger, err := history.OpenReadOnly(ctx, stateDir)
	if err != nil {
		return nil, ledgerRefused(err)
	}
	return ledger, nil
}

// ledgerRefused says that the state folder's ledger file cannot be used, and what to do.
func ledgerRefused(err error) error {
	if !errors.Is(err, history.ErrForeign) && !errors.Is(err, history.ErrCorrupt) && !errors.Is(err, history.ErrNewerSchema) && !errors.Is(err, history.ErrKeyMissing) {
		return fmt.Errorf("open the change ledger: %w", err)
	}
	// Most of history's refusals say what to do; a file SQLite cannot read at all does not.
	advice := ""
	if errors.Is(err, history.ErrCorrupt) && !strings.Contains(err.Error(), "move it away") {
		advice = "; restore it from a backup, or move it away (keep it for the audit) to start a new ledger"
	}
	return fmt.Errorf("change ledger refused, and left as it is: %w%s", err, advice)
}
