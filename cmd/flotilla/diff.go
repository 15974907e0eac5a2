package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/reconciler"
)

func newDiffCommand(g *globals) *cobra.Command {
	var opts reconciler.Options
	var flags configFlags
	var state string
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Show how the clusters differ from Git, changing nothing",
		Long: `Render every App for each cluster it selects and show what a sync would change: existing
objects are applied as a server-side dry run, so defaults and server-filled fields never show as
differences; an object that neither Git nor anyone in the cluster changed since the last sync
needs no dry run. Prints a unified diff per object and cluster; Secret values are masked.

An object that the sync would fail on (the API server refuses it, a conflict the App does not
force, an object Flotilla may not take over) is shown as such, beside the others' diffs.

A cluster that a rollback pinned (see flotilla rollback) is compared with the pinned revision,
as a sync would apply it, and says so; the pins are read from the change ledger of the state
folder (--state).

Exit status, as kubectl diff: 0 no differences, 1 differences, 2 an error (including an
object the API server refuses).`,
		Example: `  flotilla diff --config ~/.local/state/flotilla/fleet/flotilla.yaml   # the quickstart's fleet
  flotilla diff --config fleet/ --app bookinfo --cluster prod`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{errorExitCode: "2"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := flags.load(g)
			if err != nil {
				return withExitCode(err, 2)
			}
			syncer, err := flags.syncer()
			if err != nil {
				return withExitCode(err, 2)
			}
			// Pins come from the ledger, when there is one; diff only reads it.
			stateDir, err := agentStateDir(state)
			if err != nil {
				return withExitCode(err, 2)
			}
			if ledger, err := openLedgerToRead(cmd.Context(), stateDir); err == nil {
				defer ledger.Close()
				syncer.Ledger = ledger
			} else if !errors.Is(err, errNoLedger) {
				return withExitCode(err, 2)
			}
			diffs, err := syncer.Diff(cmd.Context(), cfg, flags.passOptions(g, opts))
			if err != nil {
				return withExitCode(err, 2)
			}
			if err := printData(g, diffs, func(w io.Writer) { printDiffs(w, diffs) }); err != nil {
				return withExitCode(err, 2)
			}
			code := 0
			for _, d := range diffs {
				switch {
				case d.Error != "" || d.Failed() > 0:
					code = 2
				case (len(d.Objects) > 0 || d.Refusal != "") && code == 0:
					code = 1
				}
			}
			if code != 0 {
				return exitError{code: code}
			}
			return nil
		},
	}
	flags.register(cmd, "flotilla.yaml", "diff only this App", "diff only this cluster")
	cmd.Flags().StringVar(&state, "state", "", "the state folder whose change ledger holds the pins of rolled-back Apps (default: flotilla/agent under the user's state directory)")
	return cmd
}

func printDiffs(w io.Writer, diffs []reconciler.ClusterDiff) {
	errs := pairErrors{}
	for _, d := range diffs {
		if p := d.Pinned; p != nil {
			fmt.Fprintf(w, "# %s/%s: pinned at %s by change %d (a rollback) until a commit other than %s: compared with the pinned revision, as a sync would apply it\n",
				d.Cluster, d.App, short(p.Revision.Commit), p.Change, short(p.Head))
		}
		switch n := len(d.Objects); {
		case n == 0 && d.Error == "" && d.Refusal == "":
			fmt.Fprintf(w, "# %s/%s: no differences\n", d.Cluster, d.App)
		case n == 1:
			fmt.Fprintf(w, "# %s/%s: 1 object differs\n", d.Cluster, d.App)
		case n > 1:
			fmt.Fprintf(w, "# %s/%s: %d objects differ\n", d.Cluster, d.App, n)
		}
		if d.Refusal != "" {
			fmt.Fprintf(w, "# %s/%s: a sync would be %s\n", d.Cluster, d.App, d.Refusal)
		}
		if d.Held != "" {
			fmt.Fprintf(w, "# %s/%s: a sync would be %s (flotilla sync --override-window syncs now)\n", d.Cluster, d.App, d.Held)
		}
		for _, o := range d.Objects {
			if o.Action == clusters.ActionFailed {
				fmt.Fprintf(w, "# %s: a sync would fail on it: %s\n", o.ID, o.Note)
				continue
			}
			fmt.Fprintf(w, "# %s: would be %s\n", o.ID, o.Action)
			switch {
			case o.Blocked:
				fmt.Fprintf(w, "# a sync would fail on it: %s\n", o.Note)
			case o.Note != "":
				fmt.Fprintf(w, "# note: %s\n", o.Note)
			}
			fmt.Fprint(w, o.Diff)
		}
		if d.Error != "" {
			fmt.Fprintf(w, "# %s/%s: error: %s\n", d.Cluster, d.App, errs.text(d.Err, d.Error))
		}
	}
}
