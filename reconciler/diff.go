package reconciler

import (
	"context"
	"fmt"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/policies"
)

// ClusterDiff is how one App on one cluster differs from Git.
type ClusterDiff struct {
	App     string                `json:"app"`
	Cluster string                `json:"cluster"`
	Commit  string                `json:"commit,omitempty"`
	Objects []clusters.ObjectDiff `json:"objects,omitempty"`
	Error   string                `json:"error,omitempty"`
}

// Diff compares every selected App × Cluster with Git without changing anything: rendered
// objects are dry-run applied and compared with the live ones.
func (s *Syncer) Diff(ctx context.Context, cfg *config.Config, opts Options) ([]ClusterDiff, error) {
	out := progress(opts.Progress)
	items, err := s.selectWork(ctx, cfg, opts, out)
	if err != nil {
		return nil, err
	}
	return inParallel(items, func(w work) ClusterDiff {
		d := ClusterDiff{App: w.app.Metadata.Name, Cluster: w.cluster.Metadata.Name}
		fail := func(err error) ClusterDiff { d.Error = err.Error(); return d }
		if w.fetchErr != nil {
			return fail(w.fetchErr)
		}
		d.Commit = w.checkout.Fetched.Revision.Commit
		manifests, err := w.checkout.Render(w.app, w.cluster)
		if err != nil {
			return fail(err)
		}
		if err := (policies.PruneGuard{AllowEmpty: w.app.Spec.Sync.AllowEmpty}).CheckRender(len(manifests.Objects)); err != nil {
			return fail(err)
		}
		target, err := s.Target(w.cluster)
		if err != nil {
			return fail(err)
		}
		inv, err := clusters.ReadInventory(ctx, target, w.app.Metadata.Name)
		if err != nil {
			return fail(fmt.Errorf("cluster %s unreachable or refusing: %w", w.cluster.Metadata.Name, err))
		}
		d.Objects, err = clusters.NewManager(target, w.app.Metadata.Name).Diff(ctx, manifests.Objects, inv, w.app.Spec.Sync.Prune)
		if err != nil {
			return fail(err)
		}
		return d
	}), nil
}
