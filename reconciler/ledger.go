package reconciler

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/sources/render"
)

// The ledger stage (when the Syncer has a Ledger): a change is begun in the ledger before the
// reconcile writes anything to the cluster (if that fails, nothing is written), with a
// snapshot of the render, and finished with its result once the reconcile is over. A
// reconcile that writes nothing is recorded only when it moves the pair to another revision or
// someone asked for it; a refused or failed attempt is recorded unless the one before it ended
// the same way.

// mustRecord says whether the change must be begun before apply, whatever apply finds to write:
// it creates or prunes objects, a person or a rollback asked for it, or the pair moves to a
// revision the ledger has not recorded for it last.
func (r *run) mustRecord(ctx context.Context, desired *render.Manifests, cluster *clusterState, plan *Plan) (bool, error) {
	switch r.opts.Cause.trigger() {
	case history.TriggerManual, history.TriggerRollback, history.TriggerAutoRollback:
		return true, nil
	}
	if len(plan.Prune) > 0 || clusters.IntendedInventory(cluster.inventory, desired.Objects, cluster.ids) != nil {
		return true, nil
	}
	last, err := r.syncer.Ledger.List(ctx, history.Filter{App: r.result.App, Cluster: r.result.Cluster, Limit: 1})
	if err != nil {
		return false, fmt.Errorf("read the ledger (nothing was applied): %w", err)
	}
	return len(last) == 0 || last[0].Revision.Commit != r.result.Commit || last[0].Digest != desired.Digest, nil
}

// beginChange records that the change starts, with a snapshot of the render (a restored
// snapshot is already stored). Once begun, a change is finished by finishChange whatever
// happens.
func (r *run) beginChange(ctx context.Context, desired *render.Manifests) error {
	l := r.syncer.Ledger
	if l == nil || r.change != nil {
		return nil
	}
	c := &history.Change{App: r.result.App, Cluster: r.result.Cluster, Trigger: r.opts.Cause.trigger(),
		Actor: r.opts.Cause.Actor, Revision: ledgerRevision(r.rev), Digest: desired.Digest,
		Reason: r.opts.Cause.Reason, Drift: r.opts.Cause.Drift}
	if restored, ok := r.rev.(*Restored); ok {
		c.Snapshot, c.RestoredFrom = restored.Snapshot.Address, restored.From.ID
	} else {
		address, err := l.PutSnapshot(ctx, desired.Digest, desired.Objects)
		if err != nil {
			return fmt.Errorf("record the change before making it (nothing was applied): %w", err)
		}
		c.Snapshot = address
	}
	if err := r.syncer.beginRecord(ctx, c); err != nil {
		return err
	}
	r.change = c
	return nil
}

// closeChange finishes the change begun (or records a refused or failed attempt) with the
// result, and returns the result with the change's ID. A change that cannot be finished fails
// the result: what was applied is in the cluster's inventory, and the ledger shows the change
// as interrupted after the next start.
func (r *run) closeChange(ctx context.Context, result Result) Result {
	l := r.syncer.Ledger
	if l == nil || r.opts.DryRun {
		return result
	}
	c := r.change
	if c == nil {
		if result.Status != StatusFailed && result.Status != StatusRefused && result.Status != StatusHeld {
			return result
		}
		return r.recordAttempt(ctx, result)
	}
	c.Result, c.Error, c.Objects = history.Result(result.Status), result.Error, r.objectChanges(ctx, result.Changes)
	c.Warnings = result.Warnings
	if err := r.syncer.finishChange(ctx, c); err != nil {
		result.Status, result.Err = StatusFailed, errors.Join(result.Err, err)
		result.Error = result.Err.Error()
	}
	result.Change = c.ID
	return result
}

// recordAttempt records a reconcile that was refused or failed before writing anything,
// unless the last change of the pair was the same attempt (same revision, result and error):
// a pair retried with backoff is recorded once until something changes.
func (r *run) recordAttempt(ctx context.Context, result Result) Result {
	l := r.syncer.Ledger
	last, err := l.List(ctx, history.Filter{App: result.App, Cluster: result.Cluster, Limit: 1})
	if err == nil && len(last) > 0 && last[0].Revision.Commit == result.Commit &&
		string(last[0].Result) == string(result.Status) && last[0].Error == result.Error {
		result.Change = last[0].ID
		return result
	}
	c := &history.Change{App: result.App, Cluster: result.Cluster, Trigger: r.opts.Cause.trigger(),
		Actor: r.opts.Cause.Actor, Digest: result.Digest, Reason: r.opts.Cause.Reason, Drift: r.opts.Cause.Drift,
		Result: history.Result(result.Status), Error: result.Error, Warnings: result.Warnings}
	if r.rev != nil {
		c.Revision = ledgerRevision(r.rev)
	}
	if err == nil {
		err = r.syncer.recordNow(context.WithoutCancel(ctx), c)
	}
	if err != nil {
		result.Err = errors.Join(result.Err, err)
		result.Error = result.Err.Error()
		return result
	}
	result.Change = c.ID
	return result
}

// objectChanges are the result's changes as the ledger records them: every object but those
// unchanged, with a diff from the revision applied before (Secret values masked).
func (r *run) objectChanges(ctx context.Context, changes clusters.ChangeSet) []history.ObjectChange {
	before := r.previousObjects(ctx)
	after := map[object.ID]*unstructured.Unstructured{}
	if r.desired != nil && r.planned != nil && len(r.planned.IDs) == len(r.desired.Objects) {
		for i, id := range r.planned.IDs {
			after[id] = r.desired.Objects[i]
		}
	}
	var out []history.ObjectChange
	for _, c := range changes {
		if c.Action == clusters.ActionUnchanged {
			continue
		}
		oc := history.ObjectChange{Object: c.ID.String(), Action: string(c.Action), Reason: c.Reason}
		switch c.Action {
		case clusters.ActionCreated:
			oc.Diff = r.syncer.Ledger.Diff(nil, after[c.ID])
		case clusters.ActionConfigured:
			if b, ok := before[c.ID]; ok {
				oc.Diff = r.syncer.Ledger.Diff(b, after[c.ID])
			}
		case clusters.ActionPruned:
			if b, ok := before[c.ID]; ok {
				oc.Diff = r.syncer.Ledger.Diff(b, nil)
			}
		}
		out = append(out, oc)
	}
	return out
}

// previousObjects are the objects of the last revision the ledger recorded as applied to the
// pair, by ID (with the App's namespace for those that name none); empty when there is none.
func (r *run) previousObjects(ctx context.Context) map[object.ID]*unstructured.Unstructured {
	out := map[object.ID]*unstructured.Unstructured{}
	last, err := r.syncer.Ledger.Last(ctx, r.result.App, r.result.Cluster, history.Applied...)
	if err != nil || last == nil {
		return out
	}
	snapshot, err := r.syncer.Ledger.Snapshot(ctx, last.Snapshot)
	if err != nil {
		return out
	}
	for _, obj := range snapshot.Objects {
		id := object.IDOf(obj)
		out[id] = obj
		if id.Namespace == "" {
			id.Namespace = r.key.App.Spec.Namespace
			out[id] = obj
		}
	}
	return out
}
