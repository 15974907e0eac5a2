package reconciler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/policies"
)

// waveNote is what the rollout said of a pair, for its status.
type waveNote struct {
	// reason says where the rollout stands for the pair; waiting that the pair may not run the
	// target yet (its state is then Waiting).
	reason  string
	waiting bool
	target  string
}

// reconcileInWaves reconciles a pair of an App with waves (see rollout.go): to the target,
// with a wait for health, when its cluster may run it; otherwise to the snapshot it last
// applied (nothing, when it never applied one). What the reconcile found moves the rollout,
// and the App's other pairs are queued when that lets more of them go.
func (a *Agent) reconcileInWaves(ctx context.Context, pair AppCluster, checkout Revision, opts Options) (Result, waveNote) {
	app, cluster := pair.App.Metadata.Name, pair.Cluster.Metadata.Name
	target := checkout.Describe().Commit
	clusters := a.clustersOf(pair.App)
	d, err := a.decideRollout(ctx, pair, clusters, target, nil)
	if err != nil {
		return a.syncer.failed(pair, opts, err), waveNote{}
	}
	allowed, why := d.For(cluster)
	note := waveNote{reason: why, target: target, waiting: !allowed}
	if !allowed {
		last, err := a.syncer.Ledger.Last(ctx, app, cluster, history.Applied...)
		if err != nil {
			return a.syncer.failed(pair, opts, err), note
		}
		if last == nil { // nothing applied yet: nothing to keep
			return Result{App: app, Cluster: cluster, Status: StatusSynced}, note
		}
		restored, err := a.syncer.restore(ctx, last.ID)
		if err != nil {
			return a.syncer.failed(pair, opts, fmt.Errorf("keep %s on %s while it waits for its wave: %w", cluster, short(last.Revision.Commit), err)), note
		}
		return a.syncer.Reconcile(ctx, pair, restored, opts), note
	}
	opts.Wait = true
	result := a.syncer.Reconcile(ctx, pair, checkout, opts)
	var facts map[string]policies.ClusterFact
	switch result.Status {
	case StatusHealthy, StatusDegraded, StatusProgressing:
		if result.Commit == target { // before its rollback, if it had one
			facts = map[string]policies.ClusterFact{cluster: {Revision: target, Health: string(result.Status)}}
		}
	}
	after, err := a.decideRollout(ctx, pair, clusters, target, facts)
	if err != nil {
		a.logger.Error("rollout", "app", app, "cluster", cluster, "error", err)
		return result, note
	}
	allowed, note.reason = after.For(cluster)
	note.waiting = !allowed
	for c, ok := range after.Allowed {
		if ok && !d.Allowed[c] {
			a.queueApp(pair, "")
			break
		}
	}
	return result, note
}

// decideRollout decides the App's rollout under its lock, logs and follows what changed: the
// App's other pairs are queued after a transition, and again when a bake ends.
func (a *Agent) decideRollout(ctx context.Context, pair AppCluster, clusters []*config.Cluster, target string, facts map[string]policies.ClusterFact) (policies.RolloutDecision, error) {
	unlock, err := a.syncer.rolloutLock(ctx, pair.App.Metadata.Name)
	if err != nil {
		return policies.RolloutDecision{}, err
	}
	d, _, _, err := a.syncer.decideRollout(ctx, pair.App, clusters, target, facts, nil)
	unlock()
	if err != nil {
		return d, err
	}
	for _, e := range d.Events {
		a.logger.Info("rollout", "app", pair.App.Metadata.Name, "event", e.Kind, "wave", e.Wave, "message", e.Message)
	}
	if len(d.Events) > 0 {
		a.queueApp(pair, pair.Cluster.Metadata.Name)
	}
	if !d.Recheck.IsZero() {
		for _, p := range a.appPairs(pair.App.Metadata.Name) {
			a.queue.AddAfter(p, time.Until(d.Recheck)+50*time.Millisecond)
		}
	}
	return d, nil
}

// queueApp queues the App's pairs but the one on cluster except, because its rollout moved.
func (a *Agent) queueApp(pair AppCluster, except string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for key, p := range a.pairs {
		if p.App.Metadata.Name == pair.App.Metadata.Name && p.Cluster.Metadata.Name != except {
			a.queueFor(key, Cause{Trigger: history.TriggerRollout, Actor: history.Actor{Agent: true}})
		}
	}
}

// appPairs are the keys of the App's pairs.
func (a *Agent) appPairs(app string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var keys []string
	for key, p := range a.pairs {
		if p.App.Metadata.Name == app {
			keys = append(keys, key)
		}
	}
	return keys
}

// clustersOf are the clusters the App selects, in configuration order.
func (a *Agent) clustersOf(app *config.App) []*config.Cluster {
	a.mu.Lock()
	defer a.mu.Unlock()
	clusters, _ := policies.SelectClusters(app.Spec.ClusterSelector, a.cfg.Clusters) // config.Load validated it
	return clusters
}

// Rollout says where the App's rollout of its Source's latest commit stands.
func (a *Agent) Rollout(ctx context.Context, app string) (RolloutStatus, error) {
	return a.changeRollout(ctx, app, nil)
}

// PromoteRollout skips the rest of the current wave's bake (or its whole bake, when the wave
// is not at the target yet), recorded with actor.
func (a *Agent) PromoteRollout(ctx context.Context, app string, actor history.Actor) (RolloutStatus, error) {
	return a.changeRollout(ctx, app, promote(actor))
}

// AbortRollout stops the App's rollout where it is: clusters that run the target keep it, no
// other goes to it until a resume or a newer commit.
func (a *Agent) AbortRollout(ctx context.Context, app string, actor history.Actor) (RolloutStatus, error) {
	return a.changeRollout(ctx, app, abort(actor))
}

// ResumeRollout goes on with a halted or aborted rollout: the clusters that were rolled back
// from the target (pinned away from it) are unpinned, so that they try it again.
func (a *Agent) ResumeRollout(ctx context.Context, app string, actor history.Actor) (RolloutStatus, error) {
	st, err := a.changeRollout(ctx, app, resume(actor))
	if err != nil {
		return st, err
	}
	for _, c := range st.Waves[min(st.State.Wave, len(st.Waves)-1)].Clusters {
		pin, err := a.syncer.Ledger.PinOf(ctx, app, c)
		if err != nil {
			return st, err
		}
		if pin == nil || !pin.Auto || pin.Head != st.State.Target {
			continue
		}
		if _, err := a.Unpin(ctx, app, c, actor); err != nil && !errors.Is(err, ErrNotPinned) {
			return st, err
		}
	}
	return st, nil
}

// changeRollout applies change (nil: none) to the App's rollout and queues its pairs.
func (a *Agent) changeRollout(ctx context.Context, app string, change rolloutChange) (RolloutStatus, error) {
	a.mu.Lock()
	cfgApp := a.cfg.App(app)
	a.mu.Unlock()
	if cfgApp == nil {
		return RolloutStatus{}, fmt.Errorf("App %q: %w", app, ErrNotConfigured)
	}
	// A look (no change) judges the rollout under way, never a newer commit: only a reconcile
	// starts a rollout, so that a status query cannot start one.
	target := ""
	if change != nil {
		target = a.latest(cfgApp.Spec.Source)
	}
	st, err := a.syncer.rolloutStatus(ctx, cfgApp, a.clustersOf(cfgApp), target, change)
	if err != nil || change == nil {
		return st, err
	}
	a.logger.Info("rollout", "app", app, "state", st.Reason)
	pairs, _ := a.pairsOf(app, "")
	if len(pairs) > 0 {
		a.queueApp(pairs[0], "")
	}
	return st, nil
}
