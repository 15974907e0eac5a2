package reconciler

import (
	"context"
	"errors"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/history"
)

// ClusterDiff is how one App on one cluster differs from Git.
type ClusterDiff struct {
	App     string                `json:"app"`
	Cluster string                `json:"cluster"`
	Commit  string                `json:"commit,omitempty"`
	Objects []clusters.ObjectDiff `json:"objects,omitempty"`
	// Refusal is the prune guard's answer when it would refuse the sync (which would then
	// apply and prune nothing): the Objects are what it would do once confirmed.
	Refusal string `json:"refusal,omitempty"`
	// Held says that a sync window would hold the sync now (which would then apply and prune
	// nothing): the Objects are what a sync with --override-window would do.
	Held  string `json:"held,omitempty"`
	Error string `json:"error,omitempty"`
	Err   error  `json:"-"`
	// Pinned is set when a rollback holds the pair on a recorded revision: the diff is against
	// that revision, as a sync would apply it, not against the Source's head.
	Pinned *history.Pin `json:"pinned,omitempty"`
}

// Diff compares every selected App × Cluster with Git without changing anything: the render
// and the guard of a sync (without the schema check, which the dry runs make), then each
// rendered object that Git or someone in the cluster changed since the last sync is dry-run
// applied and compared with the live one (see clusters.Manager.Diff); errors are as Sync's.
func (s *Syncer) Diff(ctx context.Context, cfg *config.Config, opts Options) ([]ClusterDiff, error) {
	items, err := s.selectWork(ctx, cfg, opts)
	if err != nil {
		return nil, err
	}
	return inParallel(items, func(w work) ClusterDiff { return s.diff(ctx, w, opts) }), nil
}

// diff is one App × Cluster's: render, guard, and the diff. A prune the guard would refuse is
// reported beside the diff; any other finding instead of it.
func (s *Syncer) diff(ctx context.Context, w work, opts Options) ClusterDiff {
	d := ClusterDiff{App: w.key.App.Metadata.Name, Cluster: w.key.Cluster.Metadata.Name}
	fail := func(err error) ClusterDiff {
		d.Err, d.Error = err, err.Error()
		return d
	}
	if w.source.err != nil {
		return fail(w.source.err)
	}
	opts.DryRun = true // the pin stage previews: a newer commit is diffed, not unpinned
	opts.comparing = true
	r := s.begin(w.key, w.source.checkout, opts)
	if err := r.followPin(ctx); err != nil {
		return fail(err)
	}
	window, err := r.window()
	if err != nil {
		return fail(err)
	}
	if window != nil && !window.Allowed {
		d.Held = window.Reason()
	}
	d.Commit, d.Pinned = r.result.Commit, r.result.Pinned
	conn := r.connect(ctx, readInventory)
	desired, err := r.render(ctx)
	if err != nil {
		conn.abandon()
		return fail(err)
	}
	cluster, findings := r.guard(ctx, desired, conn)
	var errs []error
	for _, f := range findings {
		if f.Check == CheckPrune {
			d.Refusal = f.Err.Error()
			continue
		}
		errs = append(errs, f.Err)
	}
	if len(errs) > 0 {
		return fail(errors.Join(errs...))
	}
	if d.Objects, err = cluster.manager.Diff(ctx, desired.Objects, cluster.inventory, r.diffOptions()); err != nil {
		return fail(err)
	}
	return d
}

// Failed counts the objects whose diff failed: the API server refuses Git's object (a sync
// would fail on it), or it could not be read. Blocked objects are not counted: their diff shows.
func (d ClusterDiff) Failed() int {
	n := 0
	for _, o := range d.Objects {
		if o.Action == clusters.ActionFailed {
			n++
		}
	}
	return n
}
