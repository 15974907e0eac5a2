package reconciler

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/flotilla-dev/flotilla/history"
)

// Rollback rolls the App back on one cluster (or, with cluster "", on every cluster it
// selects), one cluster after the other, with Syncer.Rollback: each pair stays pinned until its
// Source moves past the commit the agent holds now. The status of each pair follows. An App
// or cluster the configuration does not have is an error; a pair whose rollback failed shows in
// its result.
func (a *Agent) Rollback(ctx context.Context, app, cluster string, opts RollbackOptions) ([]Result, error) {
	pairs, err := a.pairsOf(app, cluster)
	if err != nil {
		return nil, err
	}
	var results []Result
	for _, pair := range pairs {
		o := opts
		o.Observer = a.opts.Observer
		if rev := a.latest(pair.App.Spec.Source); rev != "" {
			o.Head = rev
		}
		key := pair.String()
		a.setBusy(key, true)
		result := a.syncer.Rollback(ctx, pair, o)
		a.setBusy(key, false)
		a.setStatus(key, func(st *PairStatus) { st.reconciled(result, false) })
		a.logger.Info("rollback", "app", result.App, "cluster", result.Cluster, "commit", short(result.Commit), "result", result.Status, "change", result.Change, "error", result.Error)
		results = append(results, result)
	}
	return results, nil
}

// Unpin lets the App follow Git again on one cluster (or every cluster it selects, with
// cluster ""), recorded with who asked, and queues the pairs. Pairs that are not pinned are
// skipped; it is an error when none was.
func (a *Agent) Unpin(ctx context.Context, app, cluster string, actor history.Actor) ([]string, error) {
	pairs, err := a.pairsOf(app, cluster)
	if err != nil {
		return nil, err
	}
	var unpinned []string
	for _, pair := range pairs {
		err := a.syncer.Unpin(ctx, pair, actor, "")
		if err != nil && !errors.Is(err, ErrNotPinned) {
			return unpinned, err
		}
		if err == nil {
			unpinned = append(unpinned, pair.Cluster.Metadata.Name)
			a.mu.Lock()
			a.queueFor(pair.String(), Cause{Trigger: history.TriggerManual, Actor: actor})
			a.mu.Unlock()
		}
	}
	if len(unpinned) == 0 {
		return nil, fmt.Errorf("App %q is not pinned on %s: %w", app, orEvery(cluster), ErrNotPinned)
	}
	return unpinned, nil
}

// pairsOf are the App's pairs: on one cluster, or on every cluster it selects.
func (a *Agent) pairsOf(app, cluster string) ([]AppCluster, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cfg.App(app) == nil {
		return nil, fmt.Errorf("App %q: %w", app, ErrNotConfigured)
	}
	var pairs []AppCluster
	for _, pair := range a.pairs {
		if pair.App.Metadata.Name == app && (cluster == "" || pair.Cluster.Metadata.Name == cluster) {
			pairs = append(pairs, pair)
		}
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("App %q on cluster %q: %w", app, cluster, ErrNotConfigured)
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].Cluster.Metadata.Name < pairs[j].Cluster.Metadata.Name })
	return pairs, nil
}

// latest is the commit of the Source's latest fetch, "" when none succeeded yet.
func (a *Agent) latest(source string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if rev := a.revisions[source]; rev != nil && rev.checkout != nil {
		return rev.checkout.Describe().Commit
	}
	return ""
}

func orEvery(cluster string) string {
	if cluster == "" {
		return "any cluster"
	}
	return "cluster " + cluster
}
