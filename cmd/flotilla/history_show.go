package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/history"
)

func newHistoryShowCommand(g *globals) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Print one change whole: who, when, which commit, each object and the diffs",
		Long: `Print one change of the ledger (its ID is the first column of flotilla history): who asked
for it, when it started and ended, what triggered it, the commit it applied with its author,
committer and signature status, the render's digest and snapshot, how it ended (with the error,
the reason given, and for a drift heal who changed what), then each object with what the change
did to it and why, then the diffs. Secret values are masked in the diffs.

Like flotilla history, it asks the running agent, or reads the state folder's ledger when none
runs. -o json or yaml prints the change as the API gives it.`,
		Example: `  flotilla history show 42
  flotilla history show 42 -o json
  flotilla history show 42 --server https://agent.example:7070 --token-file viewer.token`,
		Args:        cobra.ExactArgs(1),
		Annotations: map[string]string{outputFormats: "text,json,yaml"},
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id < 1 {
				return fmt.Errorf("change ID %q: want the number in the ID column of flotilla history", args[0])
			}
			reader, err := f.ledgerReader(cmd.Context())
			if err != nil {
				return fmt.Errorf("change %d: %w", id, err)
			}
			defer reader.close()
			c, err := reader.get(cmd.Context(), id)
			if err != nil {
				return err
			}
			return printData(g, c, func(w io.Writer) { printChange(w, c) })
		},
	}
	f.register(cmd)
	return cmd
}

// printChange prints a change as text: a header, the objects, the diffs.
func printChange(w io.Writer, c *history.Change) {
	fmt.Fprintf(w, "Change %d: App %s on cluster %s\n", c.ID, c.App, c.Cluster)
	t := newTable(w)
	line := func(label, value string) {
		if value != "" {
			fmt.Fprintf(t, "%s:\t%s\n", label, strings.ReplaceAll(value, "\n", "\n\t"))
		}
	}
	line("Who", c.Actor.String())
	line("When", changeTimes(c))
	line("Trigger", string(c.Trigger))
	if r := c.Revision; r.Commit != "" {
		revision := r.Commit
		if r.Subject != "" {
			revision += " " + strconv.Quote(firstLine(r.Subject))
		}
		var from []string
		if r.Source != "" {
			from = append(from, "Source "+r.Source)
		}
		if r.Ref != "" {
			from = append(from, "ref "+r.Ref)
		}
		if len(from) > 0 {
			revision += " (" + strings.Join(from, ", ") + ")"
		}
		line("Revision", revision)
		line("  Author", r.Author)
		line("  Committer", r.Committer)
		line("  Signature", r.Signature)
	}
	line("Digest", c.Digest)
	line("Snapshot", c.Snapshot)
	if c.RestoredFrom != 0 {
		line("Restored", fmt.Sprintf("the snapshot of change %d", c.RestoredFrom))
	}
	line("Result", string(c.Result))
	line("Error", c.Error)
	line("Reason", c.Reason)
	line("Drift", strings.Join(c.Drift, "\n"))
	line("Warnings", strings.Join(c.Warnings, "\n"))
	t.Flush()

	if len(c.Objects) > 0 {
		fmt.Fprintf(w, "\nObjects (%d written):\n", c.Writes())
		t = newTable(w)
		for _, o := range c.Objects {
			reason := ""
			if o.Reason != "" {
				reason = "\t" + firstLine(o.Reason)
			}
			fmt.Fprintf(t, "  %s\t%s%s\n", o.Action, o.Object, reason)
		}
		t.Flush()
	}
	diffs := 0
	for _, o := range c.Objects {
		if o.Diff == "" {
			continue
		}
		if diffs == 0 {
			fmt.Fprintln(w, "\nDiffs:")
		}
		diffs++
		fmt.Fprint(w, o.Diff)
		if !strings.HasSuffix(o.Diff, "\n") {
			fmt.Fprintln(w)
		}
	}
}

// changeTimes says when a change started and how long it took (or that it did not finish).
func changeTimes(c *history.Change) string {
	started := c.Started.Local().Format("2006-01-02 15:04:05 MST")
	switch {
	case c.Result == history.ResultInterrupted:
		return started + ", never finished: the process making it stopped"
	case !c.Finished.IsZero():
		return fmt.Sprintf("%s, finished after %s", started, c.Finished.Sub(c.Started).Round(time.Millisecond))
	default:
		return started + ", still running"
	}
}
