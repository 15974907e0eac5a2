package reconciler

import (
	"context"
	"fmt"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/sources/render"
)

// Record is what one reconcile changed on one cluster.
type Record struct {
	App, Cluster string
	// Target is the cluster's client.
	Target *clusters.Target
	// Commit and Digest are the revision and render applied.
	Commit, Digest string
	// Changes are what was applied, then what was pruned.
	Changes clusters.ChangeSet
	// Previous is the App's inventory before the reconcile, Next after it. Written is what
	// the cluster's inventory holds now: Previous, or the intended inventory written before
	// the first create (see recordIntent).
	Previous, Next, Written *clusters.Inventory
}

// Recorder keeps what reconciles changed. It is called once per reconcile that wrote to the
// cluster (or tried to), after apply and prune and before health is waited for: a wait can
// take minutes, and what exists must be recorded before anything else can change it (a crash
// then must not lose an object that can no longer be pruned). An error fails the reconcile.
// The health outcome comes after, in the Result.
type Recorder interface {
	Record(ctx context.Context, rec Record) error
}

// InventoryRecorder records in the cluster itself: it writes the App's inventory (see
// clusters.WriteInventory) when the objects or their fingerprints changed.
type InventoryRecorder struct{}

// Record writes rec.Next unless it records what the cluster's inventory (rec.Written) does.
func (InventoryRecorder) Record(ctx context.Context, rec Record) error {
	if rec.Next.SameAs(rec.Written) {
		return nil
	}
	return clusters.WriteInventory(ctx, rec.Target, rec.Next)
}

// record computes the App's next inventory from the previous one and what apply and prune did
// (see clusters.NextInventory) and hands both to the Syncer's Recorder.
func (r *run) record(ctx context.Context, desired *render.Manifests, cluster *clusterState, applied, pruned clusters.ChangeSet) error {
	next := clusters.NextInventory(cluster.inventory, applied, pruned)
	next.Revision, next.Digest = r.rev.Describe().Commit, desired.Digest
	changes := append(append(clusters.ChangeSet{}, applied...), pruned...)
	return r.syncer.Recorder.Record(ctx, Record{
		App: r.result.App, Cluster: r.result.Cluster, Target: cluster.target,
		Commit: next.Revision, Digest: next.Digest, Changes: changes,
		Previous: cluster.inventory, Next: next, Written: cluster.written(),
	})
}

// recordIntent writes, before anything is created, an inventory that also holds every object
// of the render the inventory does not hold yet (see clusters.IntendedInventory): if the
// reconcile is killed mid-apply, a later one can still prune what it created. One write, only
// when the render brings new objects; the record after apply and prune writes the truth.
func (r *run) recordIntent(ctx context.Context, desired *render.Manifests, cluster *clusterState) error {
	intended := clusters.IntendedInventory(cluster.inventory, desired.Objects, cluster.ids)
	if intended == nil {
		return nil
	}
	if err := clusters.WriteInventory(ctx, cluster.target, intended); err != nil {
		return fmt.Errorf("record the objects about to be created (nothing was applied): %w", err)
	}
	cluster.intended = intended
	return nil
}
