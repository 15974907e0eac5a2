package reconciler

import (
	"context"
	"sync"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/internal/object"
)

// healthChecks are the health checks under way, one per pair: a pair whose App does not wait
// for health (no autoRollback, no waves) has its health followed after each reconcile that
// wrote something, in the background, so that the worker is free at once and status still
// shows health.
type healthChecks struct {
	mu      sync.Mutex
	running map[string]context.CancelFunc
	wg      sync.WaitGroup
}

// start runs check for the pair key in the background, after cancelling the one before it.
func (h *healthChecks) start(ctx context.Context, key string, check func(ctx context.Context)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.running == nil {
		h.running = map[string]context.CancelFunc{}
	}
	if cancel := h.running[key]; cancel != nil {
		cancel()
	}
	ctx, cancel := context.WithCancel(ctx)
	h.running[key] = cancel
	h.wg.Go(func() {
		defer cancel()
		check(ctx)
	})
}

// stopAll cancels every check and waits for them.
func (h *healthChecks) stopAll() {
	h.mu.Lock()
	for _, cancel := range h.running {
		cancel()
	}
	h.running = nil
	h.mu.Unlock()
	h.wg.Wait()
}

// followHealth follows, in the background, the health of the objects a reconcile of the pair
// applied (up to the App's health timeout), when the reconcile wrote something or the pair's
// health is not known yet: status shows Progressing while it waits, then Healthy, Degraded or
// Progressing (not healthy within the timeout). A later reconcile of the pair replaces the
// check; only the latest reconcile's check may set the status.
func (a *Agent) followHealth(ctx context.Context, key string, pair AppCluster, result Result) {
	var gen int
	known := false
	a.setStatus(key, func(st *PairStatus) { gen, known = st.generation, st.Health != "" })
	if known && result.Writes() == 0 {
		return
	}
	ids, versions := []object.ID{}, map[object.ID]string{}
	for _, c := range result.Changes {
		switch c.Action {
		case clusters.ActionCreated, clusters.ActionConfigured, clusters.ActionUnchanged:
			ids = append(ids, c.ID)
			versions[c.ID] = c.Version
		}
	}
	if len(ids) == 0 {
		return
	}
	show := func(health string) {
		a.setStatus(key, func(st *PairStatus) {
			if st.generation == gen {
				st.Health = health
			}
		})
	}
	a.health.start(ctx, key, func(ctx context.Context) {
		target, err := a.syncer.Target(pair.Cluster)
		if err != nil {
			return
		}
		manager := clusters.NewManager(target, pair.App.Metadata.Name)
		manager.Namespace = pair.App.Spec.Namespace
		opts := clusters.DefaultWaitOptions()
		opts.Timeout = healthTimeout(pair.App)
		opts.Report = func([]clusters.ObjectHealth) { show(string(StatusProgressing)) }
		health, err := manager.WaitHealthy(ctx, ids, versions, opts)
		if err != nil {
			return // the agent stops, or a later reconcile took over
		}
		status, _ := healthOf(health)
		show(string(status))
	})
}
