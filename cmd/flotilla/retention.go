package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/flotilla-dev/flotilla/history"
)

// ArchiveFile is where retention appends the ledger entries it drops, in the state folder.
const archiveFile = "ledger-archive.jsonl"

// retentionEvery is how often the agent applies the retention.
const retentionEvery = time.Hour

// keepHistory applies the retention now and then every retentionEvery until ctx ends (nothing
// when keep bounds nothing).
func keepHistory(ctx context.Context, ledger *history.Ledger, stateDir string, keep history.Retention, logger *slog.Logger) {
	if keep.MaxAge <= 0 && keep.MaxChanges <= 0 {
		return
	}
	for {
		if err := retain(ctx, ledger, stateDir, keep, logger); err != nil {
			logger.Error("ledger retention failed; nothing was dropped that was not archived", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(retentionEvery):
		}
	}
}

// retain archives, then drops, what the retention does not keep (see history.Ledger.Retain).
func retain(ctx context.Context, ledger *history.Ledger, stateDir string, keep history.Retention, logger *slog.Logger) error {
	path := filepath.Join(stateDir, archiveFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open the ledger archive: %w", err)
	}
	dropped, err := ledger.Retain(ctx, keep, f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close the ledger archive: %w", cerr)
	}
	if err != nil {
		return err
	}
	if dropped > 0 {
		logger.Info("ledger retention: old entries archived, then dropped", "entries", dropped, "archive", path)
	}
	return nil
}
