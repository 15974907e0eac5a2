package reconciler

import (
	"context"
	"fmt"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/sources/render"
)

// apply server-side applies the render (see clusters.Manager.Apply) and returns what it did to
// each object.
func (r *run) apply(ctx context.Context, desired *render.Manifests, cluster *clusterState) (clusters.ChangeSet, error) {
	r.event(StageApply, fmt.Sprintf("applying %d objects", len(desired.Objects)))
	opts := clusters.DefaultApplyOptions()
	opts.ForceConflicts, opts.Adopt = r.opts.ForceConflicts, r.key.App.Spec.Sync.Adopt
	opts.Live = cluster.live
	opts.Progress = func(format string, args ...any) { r.event(StageApply, fmt.Sprintf(format, args...)) }
	return cluster.manager.Apply(ctx, desired.Objects, cluster.inventory, opts)
}

// prune deletes the plan's objects to prune (see clusters.Manager.Prune). It runs only after
// every apply succeeded, and never touches an object the plan or the apply holds as desired.
func (r *run) prune(ctx context.Context, cluster *clusterState, plan *Plan, applied clusters.ChangeSet) (clusters.ChangeSet, error) {
	if len(plan.Prune) == 0 {
		return nil, nil
	}
	desired := idSet(plan.IDs)
	for _, c := range applied {
		desired[c.ID] = true
	}
	return cluster.manager.Prune(ctx, cluster.inventory, desired, clusters.DefaultPruneOptions())
}
