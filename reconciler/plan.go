package reconciler

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/sources/render"
)

// plan is what a sync --dry-run reports: the change a sync would make to each object, found
// with the diff (server-side dry runs of what changed, nothing written): created, configured,
// unchanged, pruned, or failed where the sync would fail (a conflict without --force-conflicts,
// an object it may not take over), for objs, whose IDs in the cluster are ids. The error joins
// what would fail.
func plan(ctx context.Context, manager *clusters.Manager, objs []*unstructured.Unstructured, ids []render.ObjectID, inv *clusters.Inventory, app *config.App, opts Options) (clusters.ChangeSet, error) {
	diffs, err := manager.Diff(ctx, objs, inv, clusters.DiffOptions{Prune: app.Spec.Sync.Prune, Adopt: app.Spec.Sync.Adopt, ForceConflicts: opts.ForceConflicts})
	if err != nil {
		return nil, err
	}
	byID := make(map[render.ObjectID]clusters.ObjectDiff, len(diffs))
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
