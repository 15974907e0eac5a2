package reconciler

import (
	"context"
	"fmt"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/internal/object"
)

// driftWatches are the agent's watches, one per cluster, over the resources of the objects the
// inventories it recorded hold.
type driftWatches struct {
	watches   map[string]*clusterWatch       // by cluster
	inventory map[string]*clusters.Inventory // by pair key
	// targets are the clients of the clusters the last reload configured (nil before one): a
	// record made with another client (by a reconcile that began before the reload) is not
	// watched.
	targets map[string]*clusters.Target
	fights  map[fightKey]*fight // fields taken from Flotilla lately, and fought over
	// deletedWhileBusy are deletions seen while their pair was reconciled, by pair key.
	deletedWhileBusy map[string][]clusters.DriftEvent
}

func newDriftWatches() *driftWatches {
	return &driftWatches{watches: map[string]*clusterWatch{}, inventory: map[string]*clusters.Inventory{},
		fights: map[fightKey]*fight{}, deletedWhileBusy: map[string][]clusters.DriftEvent{}}
}

// recorder is the Syncer's Recorder, wrapped so that the agent learns each pair's inventory and
// watches its objects' resources.
type recorder struct {
	next  Recorder
	agent *Agent
}

// Record records with the wrapped Recorder, then watches what rec.Next holds.
func (r recorder) Record(ctx context.Context, rec Record) error {
	if err := r.next.Record(ctx, rec); err != nil {
		return err
	}
	r.agent.watchInventory(rec)
	return nil
}

// watchInventory keeps the cluster's watch on the resources of every inventory the agent knows
// on it, starting the watch on the first. Only a change of those resources costs requests
// (discovery, new informers), made outside the agent's lock.
func (a *Agent) watchInventory(rec Record) {
	w, invs := a.clusterWatch(rec)
	if w == nil {
		return
	}
	resources, err := rec.Target.WatchResources(invs...)
	if err != nil {
		a.logger.Warn("some managed kinds cannot be watched", "cluster", rec.Cluster, "error", err)
	}
	if slices.Equal(w.Resources(), resources) {
		return
	}
	if err := w.SetResources(resources); err != nil {
		a.logger.Warn("watch", "cluster", rec.Cluster, "error", err)
	}
}

// clusterWatch records the pair's inventory and returns its cluster's watch (started now if
// there was none) and every inventory the agent knows on that cluster.
func (a *Agent) clusterWatch(rec Record) (*clusters.Watch, []*clusters.Inventory) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.runCtx == nil {
		return nil, nil
	}
	key := rec.App + "/" + rec.Cluster
	if _, ok := a.pairs[key]; !ok || !a.drift.current(rec) {
		return nil, nil // recorded by a reconcile that began before a reload
	}
	a.drift.inventory[key] = rec.Next
	var invs []*clusters.Inventory
	for key, inv := range a.drift.inventory {
		if pair, ok := a.pairs[key]; ok && pair.Cluster.Metadata.Name == rec.Cluster {
			invs = append(invs, inv)
		}
	}
	if w := a.drift.watches[rec.Cluster]; w != nil {
		return w.Watch, invs
	}
	opts := clusters.DefaultWatchOptions()
	opts.OnDrift = a.onDrift
	opts.ResyncPeriod = time.Minute
	opts.OnError = func(gvr schema.GroupVersionResource, err error) {
		a.logger.Warn("watch restarts", "cluster", rec.Cluster, "resource", gvr.String(), "error", err)
		if a.opts.OnWatchError != nil {
			a.opts.OnWatchError(rec.Cluster, err)
		}
	}
	ctx, cancel := context.WithCancel(a.runCtx)
	w, err := rec.Target.Watch(ctx, nil, opts)
	if err != nil {
		cancel()
		a.logger.Error("cannot watch for drift", "cluster", rec.Cluster, "error", err)
		return nil, nil
	}
	a.drift.watches[rec.Cluster] = &clusterWatch{Watch: w, target: rec.Target, cancel: cancel}
	return w, invs
}

// onDrift handles a change someone else made to a managed object, by its App's drift mode:
// enforce queues the pair (its reconcile takes the fields back, or re-creates the object),
// warn reports the object as drifted, ignore does nothing. A change that left Flotilla's
// fields alone needs nothing.
func (a *Agent) onDrift(ev clusters.DriftEvent) {
	key := ev.App + "/" + ev.Cluster
	a.mu.Lock()
	defer a.mu.Unlock()
	if !ev.OwnedFieldsChanged && !ev.Deleted {
		// Flotilla's fields are not touched (a manager writing again fields it holds): nothing
		// to heal, but the manager of a fight is not quiet.
		a.stillFighting(key, ev)
		return
	}
	pair, ok := a.pairs[key]
	if !ok {
		return
	}
	if ev.Deleted && a.busy[key] { // maybe the reconcile under way pruned it: see after
		if len(a.drift.deletedWhileBusy[key]) < maxDriftNotes {
			a.drift.deletedWhileBusy[key] = append(a.drift.deletedWhileBusy[key], ev)
		}
		return
	}
	if slices.Contains(pair.App.Spec.Drift.IgnoreManagers, ev.Manager) {
		return // its fields are left to it
	}
	mode := pair.App.Spec.Drift.Mode
	if a.opts.OnDrift != nil { // counted whatever the mode, ignore included
		a.opts.OnDrift(ev, mode)
	}
	st := a.status[key]
	drifted := DriftedObject{ID: ev.ID, Manager: ev.Manager, Fields: ev.Fields, Deleted: ev.Deleted, Seen: ev.Seen}
	switch mode {
	case config.DriftEnforce:
		if a.fought(key, ev) {
			return // fought over: left alone until its manager is quiet
		}
		if st != nil && st.State == StateHeld { // reported while a window holds the heal
			st.Drifted = upsertDrifted(st.Drifted, drifted)
		}
		a.logger.Info("drift: taking it back", "app", ev.App, "cluster", ev.Cluster, "object", ev.ID.String(), "manager", ev.Manager, "deleted", ev.Deleted)
		a.queueFor(key, Cause{Trigger: history.TriggerDrift, Actor: history.Actor{Agent: true}, Drift: []string{driftNote(ev)}})
	case config.DriftWarn:
		a.logger.Warn("drift", "app", ev.App, "cluster", ev.Cluster, "object", ev.ID.String(), "manager", ev.Manager, "deleted", ev.Deleted)
		if st != nil {
			st.State = StateDrifted
			st.Drifted = upsertDrifted(st.Drifted, drifted)
		}
	}
}

// recheckDeleted handles the deletions seen while a pair was reconciled, now that it is done:
// those of objects its reconcile (or the rollback that followed) pruned were its own; any other
// is drift like one seen at another time.
func (a *Agent) recheckDeleted(deleted []clusters.DriftEvent, result Result) {
	if len(deleted) == 0 {
		return
	}
	pruned := map[object.ID]bool{}
	for _, r := range []*Result{&result, result.AutoRollback} {
		if r == nil {
			continue
		}
		for _, c := range r.Changes {
			if c.Action == clusters.ActionPruned {
				pruned[c.ID] = true
			}
		}
	}
	for _, ev := range deleted {
		if !pruned[ev.ID] {
			a.onDrift(ev)
		}
	}
}

// driftNote names the object and who changed it, for the ledger.
func driftNote(ev clusters.DriftEvent) string {
	manager := ev.Manager
	if manager == "" {
		manager = "an unknown manager"
	}
	if ev.Deleted {
		return fmt.Sprintf("%s deleted (by %s)", ev.ID, manager)
	}
	return fmt.Sprintf("%s changed by %s", ev.ID, manager)
}

// upsertDrifted puts o in the list, replacing the entry of the same object.
func upsertDrifted(list []DriftedObject, o DriftedObject) []DriftedObject {
	for i := range list {
		if list[i].ID == o.ID {
			list[i] = o
			return list
		}
	}
	return append(list, o)
}

// watchesSynced reports whether every cluster's watch has listed its resources once.
func (d *driftWatches) synced() bool {
	for _, w := range d.watches {
		if !w.Synced() {
			return false
		}
	}
	return true
}

// ManagedObjects counts, per cluster, the managed objects its drift watch holds.
func (a *Agent) ManagedObjects() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	counts := make(map[string]int, len(a.drift.watches))
	for cluster, w := range a.drift.watches {
		counts[cluster] = w.Objects()
	}
	return counts
}

// watchWhatIsThere watches the pair's objects from the inventory the cluster holds, when no
// reconcile of the pair recorded one since the agent started (a window held it, a guard
// refused it): their drift is reported all the same.
func (a *Agent) watchWhatIsThere(ctx context.Context, pair AppCluster) {
	key := pair.String()
	a.mu.Lock()
	_, known := a.drift.inventory[key]
	a.mu.Unlock()
	if known {
		return
	}
	target, err := a.syncer.Target(pair.Cluster)
	if err != nil {
		return
	}
	inv, err := clusters.ReadInventory(ctx, target, pair.App.Metadata.Name)
	if err != nil || inv == nil || len(inv.Entries) == 0 {
		return
	}
	a.watchInventory(Record{App: pair.App.Metadata.Name, Cluster: pair.Cluster.Metadata.Name, Target: target, Next: inv})
}
