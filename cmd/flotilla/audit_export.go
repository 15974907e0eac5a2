package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/server"
)

func newAuditExportCommand(g *globals) *cobra.Command {
	var state, file, since string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the change ledger's entries as JSON lines, for an external archive",
		Long: `Write the entries of the change ledger, oldest first, one JSON object per line: each entry's
columns (change, phase, time, App, cluster, trigger, commit, result), its body (who, the
revision, each object's action and diff), and its seal and the seal of the entry before it, so
that 'flotilla audit verify --file' can later check the archive with the ledger's key. Secret
values are masked in it, as in the ledger.

--since writes only the entries from that time on: an RFC 3339 time (2026-03-01T00:00:00Z) or
a duration before now (24h, 30d). The export goes to stdout, or to --file (written whole, then
moved into place; mode 0600). It reads the ledger file of the state folder itself.`,
		Example: `  flotilla audit export > ledger.jsonl
  flotilla audit export --since 720h --file ledger-last-30-days.jsonl
  flotilla audit export --file ledger.jsonl && flotilla audit verify --file ledger.jsonl`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{outputFormats: "jsonl"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			filter, err := server.HistoryFilter(url.Values{"since": {since}}, time.Now())
			if err != nil {
				return flagError(err)
			}
			dir, err := agentStateDir(state)
			if err != nil {
				return err
			}
			ledger, err := openLedgerToRead(cmd.Context(), dir)
			if errors.Is(err, errNoLedger) {
				return fmt.Errorf("%w: nothing to export (is --state the agent's state folder?)", err)
			}
			if err != nil {
				return err
			}
			defer ledger.Close()
			if file == "" {
				_, err := ledger.Export(cmd.Context(), g.stdout, filter.Since)
				return err
			}
			n, err := exportToFile(file, func(w io.Writer) (int, error) { return ledger.Export(cmd.Context(), w, filter.Since) })
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stderr, "exported %d entries to %s\n", n, file)
			return nil
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "the agent's state folder, whose ledger to export (default: flotilla/agent under the user's state directory)")
	cmd.Flags().StringVar(&since, "since", "", "only the entries from this time on, or from this long ago (24h, 30d)")
	cmd.Flags().StringVar(&file, "file", "", "write to this file instead of stdout")
	return cmd
}

// exportToFile writes path whole through export: into a temporary file beside it, synced,
// then renamed over path, so that path never holds half an export.
func exportToFile(path string, export func(io.Writer) (int, error)) (int, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return 0, fmt.Errorf("--file: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails once renamed
	n, err := export(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return 0, fmt.Errorf("--file %s: %w", path, err)
	}
	return n, nil
}
