package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/policies"
	"github.com/flotilla-dev/flotilla/reconciler"
	"github.com/flotilla-dev/flotilla/server"
	"github.com/flotilla-dev/flotilla/sources/gitrepo"
)

// headFetchTimeout bounds the fetch a direct rollback makes to learn the Source's head.
const headFetchTimeout = 15 * time.Second

// rollbackDirect rolls the App back from this process, as the OS user, recorded in the state
// folder's ledger: first it checks that every cluster's ledger holds the revision asked for
// (nothing is rolled back otherwise), then fetches the Source once to learn its head (each
// pin lifts at a commit other than that one), then rolls back each cluster in turn. The note
// says what to know of the outcome ("" when nothing).
func rollbackDirect(ctx context.Context, g *globals, flags configFlags, state string, req server.RollbackRequest) (server.RollbackDone, string, error) {
	done := server.RollbackDone{App: req.App, Results: []server.RollbackResult{}}
	cfg, pairs, err := directPairs(g, flags)
	if err != nil {
		return done, "", err
	}
	syncer, err := flags.syncer()
	if err != nil {
		return done, "", err
	}
	ledger, stateDir, err := openStateLedger(ctx, state, g.logger)
	if err != nil {
		return done, "", err
	}
	defer ledger.Close()
	syncer.Ledger = ledger
	for _, pair := range pairs {
		if _, _, err := ledger.RollbackTarget(ctx, req.App, pair.Cluster.Metadata.Name, req.To, req.Steps); err != nil {
			return done, "", fmt.Errorf("nothing rolled back: %w (ledger %s)", err, stateDir)
		}
	}
	head, note := sourceHead(ctx, syncer.Fetcher, cfg.Source(pairs[0].App.Spec.Source))
	observer := reconciler.Observers(reconciler.ProgressLines(g.stderr), reconciler.LogEvents(g.logger))
	for _, pair := range pairs {
		result := syncer.Rollback(ctx, pair, reconciler.RollbackOptions{To: req.To, Steps: req.Steps, Reason: req.Reason,
			Actor: cliActor(), Head: head, Observer: observer, ForceConflicts: req.ForceConflicts, ConfirmPrune: req.ConfirmPrune})
		done.Results = append(done.Results, server.RollbackResultOf(result))
	}
	return done, note, nil
}

// sourceHead fetches the Source, within headFetchTimeout, for its commit. When that fails, the
// commit is "" (a rollback then pins until a commit other than the one its cluster runs) and
// the note says so.
func sourceHead(ctx context.Context, fetcher *gitrepo.Fetcher, src *config.Source) (commit, note string) {
	ctx, cancel := context.WithTimeout(ctx, headFetchTimeout)
	defer cancel()
	fetched, err := fetcher.Fetch(ctx, src)
	if err != nil {
		return "", fmt.Sprintf("Source/%s could not be fetched to learn its head (%s): each pin lifts at any commit other than the one its cluster ran before the rollback",
			src.Metadata.Name, firstLine(err.Error()))
	}
	return fetched.Revision.Commit, ""
}

// directPairs loads the configuration and returns the App × Cluster pairs of --app on
// --cluster, or on every cluster the App selects (--all), sorted by cluster.
func directPairs(g *globals, flags configFlags) (*config.Config, []reconciler.AppCluster, error) {
	cfg, err := flags.load(g)
	if err != nil {
		return nil, nil, err
	}
	app := cfg.App(flags.app)
	selected, err := policies.SelectClusters(app.Spec.ClusterSelector, cfg.Clusters)
	if err != nil {
		return nil, nil, fmt.Errorf("App/%s: %w", app.Metadata.Name, err)
	}
	var pairs []reconciler.AppCluster
	var names []string
	for _, c := range selected {
		names = append(names, c.Metadata.Name)
		if flags.cluster == "" || c.Metadata.Name == flags.cluster {
			pairs = append(pairs, reconciler.AppCluster{App: app, Cluster: c})
		}
	}
	switch {
	case len(pairs) > 0:
		sort.Slice(pairs, func(i, j int) bool { return pairs[i].Cluster.Metadata.Name < pairs[j].Cluster.Metadata.Name })
		return cfg, pairs, nil
	case len(names) == 0:
		return nil, nil, fmt.Errorf("App %q selects no cluster in %s", flags.app, flags.path)
	}
	sort.Strings(names)
	return nil, nil, fmt.Errorf("App %q does not select cluster %q; it selects %s: pass one of them to --cluster, or --all", flags.app, flags.cluster, strings.Join(names, ", "))
}
