package reconciler

import (
	"context"
	"errors"
	"fmt"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/sources/render"
)

// Plan is what a sync of one App would do on one cluster.
type Plan struct {
	// IDs are the render's objects as the cluster names them, in apply order: what apply
	// creates or configures (or finds unchanged).
	IDs []object.ID
	// Prune are the inventory's objects that left Git, when the App prunes: what prune
	// deletes once everything applied.
	Prune []clusters.InventoryEntry
}

// plan works out what a sync would do from the render and what the guard read of the cluster,
// without asking the cluster anything more.
func (r *run) plan(desired *render.Manifests, cluster *clusterState) *Plan {
	p := &Plan{IDs: cluster.ids}
	if r.key.App.Spec.Sync.Prune {
		p.Prune = cluster.inventory.Stale(idSet(p.IDs))
	}
	return p
}

// preview is what a dry run reports, and where it stops: the change a sync would make to each
// object of the plan, found with the diff (server-side dry runs of what changed, nothing
// written): created, configured, unchanged, failed where the sync would fail (the API server
// refuses the object, a conflict the App does not force, an object it may not take over), and,
// when nothing would fail, pruned or skipped as the sync's prune would. The error joins what
// would fail.
func (r *run) preview(ctx context.Context, desired *render.Manifests, cluster *clusterState, plan *Plan) (clusters.ChangeSet, error) {
	r.event(StagePlan, fmt.Sprintf("planning %d objects", len(desired.Objects)))
	opts := r.diffOptions()
	opts.Schemas = cluster.schemas
	diffs, err := cluster.manager.Diff(ctx, desired.Objects, cluster.inventory, opts)
	if err != nil {
		return nil, err
	}
	byID := make(map[object.ID]clusters.ObjectDiff, len(diffs))
	for _, d := range diffs {
		byID[d.ID] = d
	}
	var changes clusters.ChangeSet
	var failed []error
	for _, id := range plan.IDs {
		change := clusters.Change{ID: id, Action: clusters.ActionUnchanged}
		if d, ok := byID[id]; ok {
			change.Action, change.Reason = d.Action, d.Note
			if d.Blocked {
				change.Action = clusters.ActionFailed
			}
			if change.Action == clusters.ActionFailed {
				failed = append(failed, fmt.Errorf("%s: %s", id, d.Note))
			}
		}
		changes = append(changes, change)
	}
	for _, d := range diffs {
		if d.Action == clusters.ActionPruned || d.Action == clusters.ActionSkipped {
			changes = append(changes, clusters.Change{ID: d.ID, Action: d.Action, Reason: d.Note})
		}
	}
	return changes, errors.Join(failed...)
}

// diffOptions are those of the sync a diff previews.
func (r *run) diffOptions() clusters.DiffOptions {
	app := r.key.App
	opts := clusters.DefaultDiffOptions()
	opts.Prune, opts.Adopt, opts.ForceConflicts = app.Spec.Sync.Prune, app.Spec.Sync.Adopt, r.forceConflicts()
	opts.Ignore = ignoreOf(app)
	return opts
}

// idSet indexes ids.
func idSet(ids []object.ID) map[object.ID]bool {
	set := make(map[object.ID]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	return set
}
