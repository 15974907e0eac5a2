package reconciler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/policies"
	"github.com/flotilla-dev/flotilla/sources"
)

// work is one App on one cluster at one revision, or with the error that kept its Source from
// being fetched.
type work struct {
	checkout *sources.Checkout
	fetchErr error
	app      *config.App
	cluster  *config.Cluster
}

// selectWork fetches each needed Source once and lists every App × Cluster the options select.
// A Source that cannot be fetched fails its Apps only.
func (s *Syncer) selectWork(ctx context.Context, cfg *config.Config, opts Options, out io.Writer) ([]work, error) {
	var items []work
	checkouts := map[string]*sources.Checkout{}
	fetchErrs := map[string]error{}
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
			if opts.Cluster != "" && c.Metadata.Name != opts.Cluster {
				continue
			}
			checkout, fetched := checkouts[app.Spec.Source]
			fetchErr, failed := fetchErrs[app.Spec.Source]
			if !fetched && !failed {
				fmt.Fprintf(out, "fetching Source/%s\n", app.Spec.Source)
				checkout, fetchErr = sources.Fetch(ctx, s.Fetcher, cfg.Source(app.Spec.Source), s.Limits, s.Cache)
				if fetchErr != nil {
					fmt.Fprintf(out, "%v\n", fetchErr)
					fetchErrs[app.Spec.Source] = fetchErr
				} else {
					rev := checkout.Fetched.Revision
					fmt.Fprintf(out, "Source/%s at %s (%s): %s\n", app.Spec.Source, rev.ShortCommit(), rev.Ref, rev.Subject())
					checkouts[app.Spec.Source] = checkout
				}
			}
			items = append(items, work{checkout: checkout, fetchErr: fetchErr, app: app, cluster: c})
		}
	}
	if len(items) == 0 {
		return nil, errors.New(nothingSelected(cfg, opts))
	}
	return items, nil
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
		x, y := items[order[a]], items[order[b]]
		if x.app.Metadata.Name != y.app.Metadata.Name {
			return x.app.Metadata.Name < y.app.Metadata.Name
		}
		return x.cluster.Metadata.Name < y.cluster.Metadata.Name
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
