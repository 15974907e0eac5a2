package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/reconciler"
)

// syncFlags are flotilla sync's flags.
type syncFlags struct {
	opts   reconciler.Options
	config configFlags
	// agent says which agent to ask: the local one (its state folder, where a sync from this
	// process also records) or --server.
	agent  clientFlags
	direct bool
}

func newSyncCommand(g *globals) *cobra.Command {
	var f syncFlags
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Make the clusters match Git: one pass over every App and cluster",
		Long: `Fetch each App's Source, render it for every cluster it selects, check every object against
the cluster's own schemas, and apply it with server-side apply (field manager "flotilla"): CRDs
and Namespaces first, only what changed, objects that left Git pruned when the App says so. A
render with an invalid object is not applied at all on that cluster. Progress is printed per
cluster, then a summary. Exits 1 if any App on any cluster failed, was refused or is degraded.

When a local agent runs (flotilla agent, found through its state folder), the sync of each
App (or of --app) is asked of the agent, which reconciles the App's clusters itself, so that
the two never write one App × Cluster at the same moment; the command waits for the agent's
results. --server URL --token-file F asks that agent instead (an operator token). --direct
syncs from this process instead. A sync from this process records its changes in the agent's change ledger (in the
state folder, --state), as the agent would: flotilla history shows them.`,
		Example: `  flotilla sync --config ~/.local/state/flotilla/fleet/flotilla.yaml   # the quickstart's fleet
  flotilla sync --config fleet/ --app bookinfo --cluster prod --wait
  flotilla sync --config fleet/ --app bookinfo --server https://agent.example:7070 --token-file operator.token
  flotilla sync --config fleet/ --dry-run -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSync(cmd.Context(), g, f) },
	}
	f.config.register(cmd, "flotilla.yaml", "sync only this App", "sync only this cluster")
	flags := cmd.Flags()
	flags.BoolVar(&f.opts.DryRun, "dry-run", false, "ask the clusters what would change (server-side dry run); write nothing")
	flags.BoolVar(&f.opts.Wait, "wait", false, "wait until every object is healthy, up to the App's health timeout")
	flags.BoolVar(&f.opts.ForceConflicts, "force-conflicts", false, "take back fields another field manager changed, as an App with spec.drift.mode: enforce always does")
	flags.StringVar(&f.agent.state, "state", "", "the local agent's state folder, to find a running agent and record into its change ledger (default: flotilla/agent under the user's state directory)")
	flags.StringVar(&f.agent.server, "server", "", "ask the agent at this URL to sync the App (with --app and --token-file)")
	flags.StringVar(&f.agent.tokenFile, "token-file", "", "a file holding an operator token for --server")
	flags.BoolVar(&f.direct, "direct", false, "sync from this process even when an agent runs")
	flags.BoolVar(&f.opts.OverrideWindow, "override-window", false, "sync even when a sync window (spec.windows) holds the App; the ledger records the override")
	flags.BoolVar(&f.opts.ConfirmPrune, "confirm-prune", false, "sync even when the prune guard refuses: pruning all of an App's objects, or more than its spec.sync.maxPrunePercent")
	return cmd
}

// runSync asks the agent to sync the App when one runs (or --server names one), and syncs
// from this process otherwise, recording into the state folder's ledger.
func runSync(ctx context.Context, g *globals, f syncFlags) error {
	cfg, err := f.config.load(g)
	if err != nil {
		return err
	}
	client, err := f.agent.agent(ctx, f.direct)
	if err != nil {
		return err
	}
	if client != nil {
		return syncAppsThroughAgent(ctx, g, client, cfg, f)
	}
	syncer, err := f.config.syncer()
	if err != nil {
		return err
	}
	ledger, _, err := openStateLedger(ctx, f.agent.state, g.logger)
	if err != nil {
		return err
	}
	defer ledger.Close()
	syncer.Ledger = ledger
	opts := f.opts
	opts.Cause = reconciler.Cause{Trigger: history.TriggerManual, Actor: cliActor()}
	results, err := syncer.Sync(ctx, cfg, f.config.passOptions(g, opts))
	if err != nil {
		return err
	}
	if err := printData(g, results, func(w io.Writer) { printSyncResults(w, results) }); err != nil {
		return err
	}
	for _, r := range results {
		switch r.Status {
		case reconciler.StatusFailed, reconciler.StatusRefused, reconciler.StatusHeld, reconciler.StatusDegraded, reconciler.StatusProgressing:
			return exitError{code: 1}
		}
	}
	return nil
}

func printSyncResults(w io.Writer, results []reconciler.Result) {
	fmt.Fprintln(w)
	t := newTable(w)
	fmt.Fprintln(t, "APP\tCLUSTER\tCOMMIT\tCREATED\tCONFIGURED\tUNCHANGED\tPRUNED\tSKIPPED\tFAILED\tHEALTH\tSTATUS\tTIME")
	var problems, notes []string
	errs := pairErrors{}
	for _, r := range results {
		commit := r.Commit
		if len(commit) > 12 {
			commit = commit[:12]
		}
		cs := r.Changes
		fmt.Fprintf(t, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", r.App, r.Cluster, commit,
			cs.Count(clusters.ActionCreated), cs.Count(clusters.ActionConfigured), cs.Count(clusters.ActionUnchanged),
			cs.Count(clusters.ActionPruned), cs.Count(clusters.ActionSkipped), cs.Count(clusters.ActionFailed),
			healthSummary(r.Health), r.Status, r.Duration)
		for _, c := range cs {
			if c.Reason != "" && c.Action != clusters.ActionFailed {
				notes = append(notes, fmt.Sprintf("%s/%s: %s %s: %s", r.Cluster, r.App, c.ID, c.Action, c.Reason))
			}
		}
		for _, warning := range r.Warnings {
			notes = append(notes, fmt.Sprintf("%s/%s: %s", r.Cluster, r.App, warning))
		}
		if p := r.Pinned; p != nil && r.AutoRollback == nil {
			notes = append(notes, fmt.Sprintf("%s/%s: pinned at %s by change %d until a commit other than %s (flotilla unpin --app %s --cluster %s to follow Git now)",
				r.Cluster, r.App, short(p.Revision.Commit), p.Change, short(p.Head), r.App, r.Cluster))
		}
		if rb := r.AutoRollback; rb != nil {
			problems = append(problems, fmt.Sprintf("%s/%s: %s was %s, so it was rolled back to %s: %s (change %d); it stays there until a newer commit",
				r.Cluster, r.App, short(r.Commit), r.Status, short(rb.Commit), rb.Status, rb.Change))
		}
		if r.Error != "" {
			problems = append(problems, fmt.Sprintf("%s/%s: %s", r.Cluster, r.App, strings.ReplaceAll(errs.text(r.Err, r.Error), "\n", "\n  ")))
		}
	}
	t.Flush()
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintln(w, n)
		}
	}
	if len(problems) > 0 {
		fmt.Fprintln(w)
		for _, p := range problems {
			fmt.Fprintln(w, p)
		}
	}
}

// healthSummary counts objects per health status, the unhealthy first ("1 degraded, 27
// healthy"); "-" when health was not checked (sync without --wait).
func healthSummary(health []clusters.ObjectHealth) string {
	if len(health) == 0 {
		return "-"
	}
	counts := map[clusters.HealthStatus]int{}
	var order []clusters.HealthStatus
	for _, h := range health {
		if counts[h.Status] == 0 {
			order = append(order, h.Status)
		}
		counts[h.Status]++
	}
	sort.SliceStable(order, func(i, j int) bool { return order[j] == clusters.HealthHealthy && order[i] != clusters.HealthHealthy })
	parts := make([]string, len(order))
	for i, status := range order {
		parts[i] = fmt.Sprintf("%d %s", counts[status], strings.ToLower(string(status)))
	}
	return strings.Join(parts, ", ")
}
