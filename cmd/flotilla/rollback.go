package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/reconciler"
	"github.com/flotilla-dev/flotilla/server"
)

// rollbackFlags are what flotilla rollback is asked, beside the configuration's flags.
type rollbackFlags struct {
	all, direct                  bool
	to, reason                   string
	steps                        int
	forceConflicts, confirmPrune bool
}

func newRollbackCommand(g *globals) *cobra.Command {
	var flags configFlags
	var agentFlags clientFlags
	var rb rollbackFlags
	cmd := &cobra.Command{
		Use:   "rollback",
		Short: "Put an App back on a revision the ledger recorded, and keep it there",
		Long: `Put an App back, on one cluster (--cluster) or on every cluster it selects (--all), on a
revision the change ledger recorded as applied: --to names its commit (or its first digits;
flotilla history --app A lists them), --steps N counts revisions back from the one applied now
(1: the one before). The revision's snapshot is applied again, without Git (a commit removed
from Git by a force-push, or a Git server that is down, does not matter); what the snapshot
does not hold is pruned (the prune guard still applies); the command waits for health, up to
the App's health timeout, and the rollback is recorded with who asked and --reason. Clusters
are rolled back one after the other. If a cluster's ledger holds no such revision, nothing is
rolled back on any cluster.

The App then stays pinned on that revision on each cluster, through the agent's polls, syncs
and drift heals (which heal toward it), even with spec.sync.automated on, until a commit other
than the Source's head at the time of the rollback arrives; flotilla unpin lets it follow Git
at once. flotilla status shows the pin.

When an agent runs (the local one, found through its state folder, or --server with
--token-file), the rollback is asked of it and recorded under the API token's name; otherwise,
or with --direct, this process rolls back with --config, recorded in the state folder's ledger
under the OS user's name.
Exits 1 if the rollback failed, was refused or did not become healthy on a cluster.`,
		Example: `  flotilla rollback --app bookinfo --cluster prod --steps 1 --reason "2.3 breaks checkout"
  flotilla rollback --app bookinfo --all --to 3f2a9c1
  flotilla rollback --app bookinfo --all --steps 1 --server https://agent.example:7070 --token-file ops.token
  flotilla rollback --app bookinfo --cluster dev --steps 2 --direct --config fleet/ -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runRollback(cmd, g, flags, agentFlags, rb) },
	}
	flags.register(cmd, "flotilla.yaml", "the App to roll back", "roll back on this cluster only")
	cmd.Flags().Lookup("config").Usage = "configuration file or folder (with --direct, or when no agent runs)"
	cmd.Flags().BoolVar(&rb.all, "all", false, "roll back on every cluster the App selects")
	cmd.Flags().StringVar(&rb.to, "to", "", "the commit to go back to (or its first digits), as flotilla history lists it")
	cmd.Flags().IntVar(&rb.steps, "steps", 0, "how many revisions to go back (1: the one before the revision applied now)")
	cmd.Flags().StringVar(&rb.reason, "reason", "", "why, recorded with the rollback")
	cmd.Flags().BoolVar(&rb.forceConflicts, "force-conflicts", false, "take back fields another field manager changed, as a sync with --force-conflicts")
	cmd.Flags().BoolVar(&rb.confirmPrune, "confirm-prune", false, "roll back even when the prune guard refuses what the rollback would prune")
	agentFlags.register(cmd)
	cmd.Flags().BoolVar(&rb.direct, "direct", false, "roll back from this process (with --config) even when an agent runs")
	return cmd
}

// runRollback asks the agent to roll back when one runs (or --server names one), and rolls
// back from this process otherwise; exit 1 unless every cluster ends healthy or synced.
func runRollback(cmd *cobra.Command, g *globals, flags configFlags, agentFlags clientFlags, rb rollbackFlags) error {
	query, err := rb.query(cmd, flags.app, flags.cluster)
	if err != nil {
		return err
	}
	req, err := server.RollbackQuery(flags.app, query)
	if err != nil {
		return flagError(err)
	}
	client, err := agentFlags.agent(cmd.Context(), rb.direct)
	if err != nil {
		return err
	}
	var done server.RollbackDone
	var note string
	if client != nil {
		done, err = rollbackThroughAgent(cmd.Context(), client, req, query, g.stderr)
	} else {
		done, note, err = rollbackDirect(cmd.Context(), g, flags, agentFlags.state, req)
	}
	if err != nil {
		return err
	}
	if err := printData(g, done, func(w io.Writer) { printRollback(w, done) }); err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintln(g.stderr, "note: "+note)
	}
	for _, r := range done.Results {
		switch reconciler.Status(r.Status) {
		case reconciler.StatusHealthy, reconciler.StatusSynced:
		default:
			return exitError{code: 1}
		}
	}
	return nil
}

// query checks the flags and returns them as the API's query.
func (rb rollbackFlags) query(cmd *cobra.Command, app, cluster string) (url.Values, error) {
	if err := checkPairFlags("roll back", app, cluster, rb.all); err != nil {
		return nil, err
	}
	stepsGiven := cmd.Flags().Changed("steps")
	switch {
	case rb.to != "" && stepsGiven:
		return nil, errors.New("give --to or --steps, not both")
	case rb.to == "" && !stepsGiven:
		return nil, fmt.Errorf("say where to roll back to: --to REVISION (a commit the ledger recorded, or its first digits; flotilla history --app %s lists them) or --steps N (revisions back from the one applied now)", app)
	case stepsGiven && rb.steps < 1:
		return nil, fmt.Errorf("--steps %d: want 1 or more (1: the revision before the one applied now)", rb.steps)
	}
	q := url.Values{}
	if cluster != "" {
		q.Set("cluster", cluster)
	}
	if rb.to != "" {
		q.Set("to", rb.to)
	} else {
		q.Set("steps", strconv.Itoa(rb.steps))
	}
	if rb.forceConflicts {
		q.Set("forceConflicts", "true")
	}
	if rb.confirmPrune {
		q.Set("confirmPrune", "true")
	}
	if rb.reason != "" {
		q.Set("reason", rb.reason)
	}
	return q, nil
}

// checkPairFlags checks that the flags name an App and either one cluster or --all.
func checkPairFlags(verb, app, cluster string, all bool) error {
	switch {
	case app == "":
		return fmt.Errorf("--app is required: the App to %s", verb)
	case cluster != "" && all:
		return errors.New("give --cluster or --all, not both")
	case cluster == "" && !all:
		return fmt.Errorf("say where to %s: --cluster C (one cluster) or --all (every cluster the App selects)", verb)
	}
	return nil
}

// rollbackThroughAgent asks the agent for the rollback and waits for its answer, which comes
// once every cluster's rollback is over.
func rollbackThroughAgent(ctx context.Context, client *agentClient, req server.RollbackRequest, query url.Values, progress io.Writer) (server.RollbackDone, error) {
	where := "every cluster it selects"
	if req.Cluster != "" {
		where = "cluster " + req.Cluster
	}
	fmt.Fprintf(progress, "asked the agent at %s to roll back App/%s on %s; waiting until it is healthy there\n", client.url, req.App, where)
	var done server.RollbackDone
	err := client.patient().do(ctx, http.MethodPost, "/api/v1/apps/"+url.PathEscape(req.App)+"/rollback", query, &done)
	return done, err
}

// printRollback prints each cluster's rollback, then how each pin lifts.
func printRollback(w io.Writer, done server.RollbackDone) {
	t := newTable(w)
	fmt.Fprintln(t, "CLUSTER\tRESULT\tRESTORED\tCHANGE\tPINNED UNTIL\tERROR")
	var problems []string
	for _, r := range done.Results {
		restored := history.Revision{Commit: r.Revision}
		until, change := "-", "-"
		if r.Pinned != nil {
			restored.Subject, until = r.Pinned.Subject, shortCommit(r.Pinned.Until)
		}
		if r.Change != 0 {
			change = strconv.FormatInt(r.Change, 10)
		}
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Cluster, r.Status, revisionSummary(restored), change, until, firstLine(r.Error))
		if firstLine(r.Error) != r.Error {
			problems = append(problems, r.Cluster+": "+strings.ReplaceAll(r.Error, "\n", "\n  "))
		}
	}
	t.Flush()
	for _, p := range problems {
		fmt.Fprintln(w, "\n"+p)
	}
	for _, line := range pinLines(done) {
		fmt.Fprintln(w, "\n"+line)
	}
}

// pinLines say how the pins a rollback left lift: one line per revision and head.
func pinLines(done server.RollbackDone) []string {
	type group struct {
		pin      *server.Pin
		clusters []string
	}
	var groups []*group
	byPin := map[[2]string]*group{}
	for _, r := range done.Results {
		if r.Pinned == nil {
			continue
		}
		key := [2]string{r.Pinned.Revision, r.Pinned.Until}
		if byPin[key] == nil {
			byPin[key] = &group{pin: r.Pinned}
			groups = append(groups, byPin[key])
		}
		byPin[key].clusters = append(byPin[key].clusters, r.Cluster)
	}
	var lines []string
	for _, gr := range groups {
		who, verb, unpin := "cluster "+gr.clusters[0], "stays", "--cluster "+gr.clusters[0]
		if len(gr.clusters) > 1 {
			who, verb, unpin = "clusters "+strings.Join(gr.clusters, ", "), "stay", "--cluster C (for each)"
			if len(gr.clusters) == len(done.Results) {
				unpin = "--all"
			}
		}
		lines = append(lines, fmt.Sprintf("App/%s on %s %s on %s until a commit other than %s arrives; flotilla unpin --app %s %s to follow Git now",
			done.App, who, verb, shortCommit(gr.pin.Revision), shortCommit(gr.pin.Until), done.App, unpin))
	}
	return lines
}

// shortCommit is a commit's first 8 digits, as flotilla history shows them; "-" for none.
func shortCommit(commit string) string {
	if commit == "" {
		return "-"
	}
	return revisionSummary(history.Revision{Commit: commit})
}
