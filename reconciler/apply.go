package reconciler

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/sources/render"
)

// apply server-side applies the render (see clusters.Manager.Apply) and returns what it did to
// each object. Its first event says how many objects it will write.
func (r *run) apply(ctx context.Context, desired *render.Manifests, cluster *clusterState) (clusters.ChangeSet, error) {
	opts := clusters.DefaultApplyOptions()
	opts.ForceConflicts, opts.Adopt = r.forceConflicts(), r.key.App.Spec.Sync.Adopt
	opts.Live, opts.Schemas = cluster.live, cluster.schemas
	opts.Ignore = ignoreOf(r.key.App)
	opts.Progress = func(format string, args ...any) { r.event(StageApply, fmt.Sprintf(format, args...)) }
	opts.BeforeWrite = func(toWrite int) error {
		if toWrite == 0 {
			return nil
		}
		return r.beginChange(ctx, desired)
	}
	objs, paused := desired.Objects, clusters.ChangeSet(nil)
	if len(r.opts.Paused) > 0 {
		objs = make([]*unstructured.Unstructured, 0, len(desired.Objects))
		for i, obj := range desired.Objects {
			if i < len(cluster.ids) { // the render's IDs, one per object
				if why, ok := r.opts.Paused[cluster.ids[i]]; ok {
					paused = append(paused, clusters.Change{ID: cluster.ids[i], Action: clusters.ActionUnchanged, Reason: why})
					continue
				}
			}
			objs = append(objs, obj)
		}
	}
	applied, err := cluster.manager.Apply(ctx, objs, cluster.inventory, opts)
	return append(applied, paused...), err
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

// forceConflicts says whether Git wins over other field managers: the App's drift.mode is
// enforce, or the pass says so (--force-conflicts). The fields taken back are reported with
// each change; with warn (the default) or ignore, a conflict fails the object.
func (r *run) forceConflicts() bool {
	return r.opts.ForceConflicts || r.key.App.Spec.Drift.Mode == config.DriftEnforce
}

// ignoreOf is what the App's spec.drift leaves to other managers.
func ignoreOf(app *config.App) clusters.Ignore {
	return clusters.Ignore{Managers: app.Spec.Drift.IgnoreManagers, Rules: app.Spec.Drift.Ignore}
}
