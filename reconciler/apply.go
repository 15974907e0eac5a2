package reconciler

import (
	"context"
	"fmt"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/sources/render"
)

// apply server-side applies the render (see clusters.Manager.Apply) and returns what it did to
// each object.
func (r *run) apply(ctx context.Context, desired *render.Manifests, live *clusterState) (clusters.ChangeSet, error) {
	r.event(StageApply, fmt.Sprintf("applying %d objects", len(desired.Objects)))
	opts := clusters.DefaultApplyOptions()
	opts.ForceConflicts, opts.Adopt = r.opts.ForceConflicts, r.key.App.Spec.Sync.Adopt
	opts.Live = live.live
	opts.Progress = func(format string, args ...any) { r.event(StageApply, fmt.Sprintf(format, args...)) }
	return live.manager.Apply(ctx, desired.Objects, live.inventory, opts)
}

// prune deletes, when the App prunes, the inventory's objects that are not among those just
// applied (see clusters.Manager.Prune). It runs only after every apply succeeded.
func (r *run) prune(ctx context.Context, live *clusterState, applied clusters.ChangeSet) (clusters.ChangeSet, error) {
	if !r.key.App.Spec.Sync.Prune {
		return nil, nil
	}
	desired := make(map[object.ID]bool, len(applied))
	for _, c := range applied {
		desired[c.ID] = true
	}
	return live.manager.Prune(ctx, live.inventory, desired, clusters.DefaultPruneOptions())
}
