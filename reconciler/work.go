package reconciler

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/policies"
	"github.com/flotilla-dev/flotilla/sources"
)

// work is one App on one cluster, with its Source's revision or the error that kept it from
// being fetched.
type work struct {
	key    AppCluster
	source *fetched
}

// fetched is a Source's revision, or why it could not be fetched.
type fetched struct {
	checkout *sources.Checkout
	err      error
}

// selectWork lists every App × Cluster the options select, then fetches each Source they need
// once. A Source that cannot be fetched fails its Apps only.
func (s *Syncer) selectWork(ctx context.Context, cfg *config.Config, opts Options) ([]work, error) {
	var items []work
	for i := range cfg.Apps {
		app := &cfg.Apps[i]
		if opts.App != "" && app.Metadata.Name != opts.App {
			continue
		}
		selected, err := policies.SelectClusters(app.Spec.ClusterSelector, cfg.Clusters)
		if err != nil {
			return nil, fmt.Errorf("App/%s: %w", app.Metadata.Name, err)
		}
		for _, c := range selected {
			if opts.Cluster == "" || c.Metadata.Name == opts.Cluster {
				items = append(items, work{key: AppCluster{App: app, Cluster: c}})
			}
		}
	}
	if len(items) == 0 {
		return nil, errors.New(nothingSelected(cfg, opts))
	}
	revisions := map[string]*fetched{}
	for i, w := range items {
		name := w.key.App.Spec.Source
		if revisions[name] == nil {
			revisions[name] = s.fetch(ctx, cfg.Source(name), opts)
		}
		items[i].source = revisions[name]
	}
	return items, nil
}

// fetch fetches a Source's revision, telling the observer.
func (s *Syncer) fetch(ctx context.Context, src *config.Source, opts Options) *fetched {
	say := func(format string, args ...any) {
		observe(opts.Observer, Event{Stage: StageFetch, Message: fmt.Sprintf(format, args...)})
	}
	say("fetching Source/%s", src.Metadata.Name)
	checkout, err := sources.Fetch(ctx, s.Fetcher, src, s.Limits, s.Cache)
	if err != nil {
		say("%v", err)
		return &fetched{err: err}
	}
	rev := checkout.Fetched.Revision
	say("Source/%s at %s (%s): %s", src.Metadata.Name, rev.ShortCommit(), rev.Ref, rev.Subject())
	return &fetched{checkout: checkout}
}

// maxParallel bounds the App × Cluster syncs that run at once; each also bounds its own writes.
const maxParallel = 8

// inParallel runs fn for the work items, maxParallel at a time, and returns the results in App,
// Cluster order.
func inParallel[T any](items []work, fn func(work) T) []T {
	results := make([]T, len(items))
	var wg sync.WaitGroup
	limit := make(chan struct{}, maxParallel)
	for i, w := range items {
		wg.Go(func() {
			limit <- struct{}{}
			defer func() { <-limit }()
			results[i] = fn(w)
		})
	}
	wg.Wait()
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := items[order[a]].key, items[order[b]].key
		if x.App.Metadata.Name != y.App.Metadata.Name {
			return x.App.Metadata.Name < y.App.Metadata.Name
		}
		return x.Cluster.Metadata.Name < y.Cluster.Metadata.Name
	})
	sorted := make([]T, len(items))
	for i, j := range order {
		sorted[i] = results[j]
	}
	return sorted
}

func nothingSelected(cfg *config.Config, opts Options) string {
	switch {
	case opts.App != "" && cfg.App(opts.App) == nil:
		return fmt.Sprintf("App %q is not defined", opts.App)
	case opts.Cluster != "" && cfg.Cluster(opts.Cluster) == nil:
		return fmt.Sprintf("Cluster %q is not defined", opts.Cluster)
	}
	return "no App selects any cluster with these options"
}
