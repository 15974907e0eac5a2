package reconciler

import (
	"context"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/config"
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
	Error   string `json:"error,omitempty"`
}

// Diff compares every selected App × Cluster with Git without changing anything: each rendered
// object that Git or someone in the cluster changed since the last sync is dry-run applied and
// compared with the live one (see clusters.Manager.Diff); errors are as Sync's.
func (s *Syncer) Diff(ctx context.Context, cfg *config.Config, opts Options) ([]ClusterDiff, error) {
	out := progress(opts.Progress)
	items, err := s.selectWork(ctx, cfg, opts, out)
	if err != nil {
		return nil, err
	}
	return inParallel(items, func(w work) ClusterDiff {
		d := ClusterDiff{App: w.app.Metadata.Name, Cluster: w.cluster.Metadata.Name}
		if w.checkout != nil {
			d.Commit = w.checkout.Fetched.Revision.Commit
		}
		p, err := s.prepare(ctx, w, false)
		if err != nil {
			d.Error = err.Error()
			return d
		}
		manager := clusters.NewManager(p.target, w.app.Metadata.Name)
		if w.app.Spec.Sync.Prune {
			if err := checkPrune(w.app, p.inventory, manager.DesiredIDs(p.manifests.Objects)); err != nil {
				d.Refusal = err.Error()
			}
		}
		if d.Objects, err = manager.Diff(ctx, p.manifests.Objects, p.inventory, clusters.DiffOptions{Prune: w.app.Spec.Sync.Prune, Adopt: w.app.Spec.Sync.Adopt}); err != nil {
			d.Error = err.Error()
		}
		return d
	}), nil
}
