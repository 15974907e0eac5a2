package reconciler

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/sources/render"
)

// Plan is what a sync would do on one cluster.
type Plan struct {
	// IDs are the render's objects as the cluster names them, in apply order.
	IDs []object.ID
	// Prune are the inventory's objects that left Git, when the App prunes.
	Prune []clusters.InventoryEntry
	// Changes says, for a dry run, what the sync would do to each object (see preview).
	Changes clusters.ChangeSet
}

// plan works out what a sync would do. For a dry run, which stops here, it previews each
// object with server-side dry runs; a sync goes on to apply, which skips objects unchanged on
// both sides without asking the server.
func (r *run) plan(ctx context.Context, desired *render.Manifests, live *clusterState) (*Plan, error) {
	p := &Plan{IDs: live.desiredIDs(desired)}
	if r.key.App.Spec.Sync.Prune {
		p.Prune = live.inventory.Stale(idSet(p.IDs))
	}
	if !r.opts.DryRun {
		return p, nil
	}
	r.event(StagePlan, fmt.Sprintf("planning %d objects", len(desired.Objects)))
	var err error
	p.Changes, err = r.preview(ctx, live, desired.Objects, p.IDs)
	return p, err
}

// preview is what a sync --dry-run reports: the change a sync would make to each object, found
// with the diff (server-side dry runs of what changed, nothing written): created, configured,
// unchanged, pruned, or failed where the sync would fail (a conflict without --force-conflicts,
// an object it may not take over), for objs, whose IDs in the cluster are ids. The error joins
// what would fail.
func (r *run) preview(ctx context.Context, live *clusterState, objs []*unstructured.Unstructured, ids []object.ID) (clusters.ChangeSet, error) {
	app := r.key.App
	opts := clusters.DefaultDiffOptions()
	opts.Prune, opts.Adopt, opts.ForceConflicts = app.Spec.Sync.Prune, app.Spec.Sync.Adopt, r.opts.ForceConflicts
	diffs, err := live.manager.Diff(ctx, objs, live.inventory, opts)
	if err != nil {
		return nil, err
	}
	byID := make(map[object.ID]clusters.ObjectDiff, len(diffs))
	for _, d := range diffs {
		byID[d.ID] = d
	}
	var changes clusters.ChangeSet
	var blocked []error
	for _, id := range ids {
		change := clusters.Change{ID: id, Action: clusters.ActionUnchanged}
		if d, ok := byID[id]; ok {
			change.Action, change.Reason = d.Action, d.Note
			if d.Blocked {
				change.Action = clusters.ActionFailed
				blocked = append(blocked, fmt.Errorf("%s: %s", id, d.Note))
			}
		}
		changes = append(changes, change)
	}
	for _, d := range diffs {
		if d.Action == clusters.ActionPruned {
			changes = append(changes, clusters.Change{ID: d.ID, Action: clusters.ActionPruned})
		}
	}
	return changes, errors.Join(blocked...)
}

// idSet indexes ids.
func idSet(ids []object.ID) map[object.ID]bool {
	set := make(map[object.ID]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	return set
}
