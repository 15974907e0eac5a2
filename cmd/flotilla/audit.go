package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/history"
)

func newAuditCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Prove the change ledger was not edited, and export it for an archive",
		Long: `Every entry of the change ledger (two per change: its begin and its end) is sealed with an
HMAC under the ledger's key file (STATE/ledger.key, mode 0600) over its contents and the seal
of the entry before it. Whoever edits, inserts or deletes a row of the database without the key
cannot make the seals match: 'audit verify' names the first entry that was touched.

'audit export' writes the entries as JSON lines for an external archive; 'audit verify --file'
checks such an archive with the same key.

Both read the ledger file of the state folder themselves, never through the agent, and need
its key file: run them as the user the agent runs as.`,
	}
	cmd.AddCommand(newAuditVerifyCommand(g), newAuditExportCommand(g))
	return cmd
}

func newAuditVerifyCommand(g *globals) *cobra.Command {
	var state, file string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check every entry of the change ledger, or of an export, against its seal",
		Long: `Check the change ledger of the state folder: every entry's seal, every entry's link to the
one before, and the marks of the ledger's last entry (so that entries deleted from the end
show) and of where it starts after retention dropped older entries.

Prints "ledger intact: N changes (entries A–B)" and exits 0; or names the first entry that
was edited, inserted or deleted and exits 1. Exits 2 when the ledger cannot be read (no
ledger in the state folder, no key file, a file that is not a ledger).

With --file, checks an export (flotilla audit export) with the state folder's key instead: each
line's seal, that each line follows the one before it (the first line's link to what came
before it is taken as given, as an export --since starts in the middle of the chain), and the
sealed trailer that ends it, so that entries cut from its end show. An export without a
trailer (made by an earlier Flotilla) is checked line by line, with a warning.
-o json prints what was checked and the problem found, if any.`,
		Example: `  flotilla audit verify
  flotilla audit verify --state /var/lib/flotilla/agent -o json
  flotilla audit export --file ledger-2026-03.jsonl && flotilla audit verify --file ledger-2026-03.jsonl`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{outputFormats: "text,json", errorExitCode: "2"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := agentStateDir(state)
			if err != nil {
				return err
			}
			ledger, err := openLedgerToRead(cmd.Context(), dir)
			if errors.Is(err, errNoLedger) {
				return fmt.Errorf("%w: nothing to verify (is --state the agent's state folder?)", err)
			}
			if err != nil {
				return err
			}
			defer ledger.Close()
			what := "ledger"
			var v *history.Verification
			if file != "" {
				what = "export " + file
				f, err := os.Open(file)
				if err != nil {
					return fmt.Errorf("--file: %w", err)
				}
				defer f.Close()
				v, err = ledger.VerifyExport(f)
				if err != nil {
					return fmt.Errorf("verify %s: %w", what, err)
				}
			} else if v, err = ledger.Verify(cmd.Context()); err != nil {
				return fmt.Errorf("verify the ledger in %s: %w", dir, err)
			}
			if err := printData(g, v, func(w io.Writer) { printVerification(w, what, v) }); err != nil {
				return err
			}
			if v.Problem != nil {
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "the agent's state folder, whose ledger and key file to use (default: flotilla/agent under the user's state directory)")
	cmd.Flags().StringVar(&file, "file", "", "check this export (JSON lines from flotilla audit export) instead of the ledger")
	return cmd
}

// printVerification says whether what (the ledger, or an export) is intact.
func printVerification(w io.Writer, what string, v *history.Verification) {
	switch {
	case v.Problem != nil:
		fmt.Fprintf(w, "%s not intact: %s\n", what, v.Problem.Message)
	case v.Entries == 0:
		fmt.Fprintf(w, "%s intact: no changes recorded yet\n", what)
	default:
		changes := "changes"
		if v.Changes == 1 {
			changes = "change"
		}
		fmt.Fprintf(w, "%s intact: %d %s (entries %d–%d)\n", what, v.Changes, changes, v.First, v.Last)
	}
	if v.Warning != "" {
		fmt.Fprintf(w, "warning: %s\n", v.Warning)
	}
}
