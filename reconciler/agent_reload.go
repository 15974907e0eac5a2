package reconciler

import (
	"context"
	"strings"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/policies"
)

// clusterWatch is the drift watch of one cluster, with the client it was started with and
// what stops it.
type clusterWatch struct {
	*clusters.Watch
	target *clusters.Target
	cancel context.CancelFunc
}

// current reports whether rec was made with the client the last reload configured for its
// cluster (any client, before a reload).
func (d *driftWatches) current(rec Record) bool {
	if d.targets == nil {
		return true
	}
	t := d.targets[rec.Cluster]
	return t != nil && t == rec.Target
}

// reloadClusters brings the cluster clients and drift watches in line with cfg (called before
// cfg is installed, without the lock): the clients of clusters cfg no longer has are dropped
// (Registry.Retain), and so are the drift watches of those clusters and of those whose spec
// changed (kubeconfig, its content, context: they get a new client), with the inventories they
// watched; the next reconcile of each pair, which the reload queues, records its inventory
// again and watches it with the new client. It returns the clusters no longer configured.
func (a *Agent) reloadClusters(old, cfg *config.Config) (removed []string) {
	names := make([]string, 0, len(cfg.Clusters))
	targets := make(map[string]*clusters.Target, len(cfg.Clusters))
	for i := range cfg.Clusters {
		c := &cfg.Clusters[i]
		names = append(names, c.Metadata.Name)
		t, err := a.syncer.Target(c) // the same client while the spec is the same
		if err != nil {
			a.logger.Warn("reload: no client for the cluster; its reconciles will fail", "cluster", c.Metadata.Name, "error", err)
		}
		targets[c.Metadata.Name] = t
	}
	for i := range old.Clusters {
		if name := old.Clusters[i].Metadata.Name; cfg.Cluster(name) == nil {
			removed = append(removed, name)
		}
	}
	a.syncer.Clusters.Retain(names...)
	a.mu.Lock()
	defer a.mu.Unlock()
	for name, w := range a.drift.watches {
		if t, ok := targets[name]; ok && t != nil && t == w.target {
			continue
		}
		w.cancel()
		delete(a.drift.watches, name)
		for key := range a.drift.inventory {
			if strings.HasSuffix(key, "/"+name) {
				delete(a.drift.inventory, key)
			}
		}
		a.logger.Info("reload: drift watch stopped", "cluster", name, "configured", targets[name] != nil)
	}
	a.drift.targets = targets
	return removed
}

// Reload replaces the configuration: pairs no longer configured are forgotten, every pair of
// the new one is queued (those unchanged reconcile without writing), Sources are polled on
// their new intervals, and the clients and drift watches of clusters removed are dropped, those
// of clusters whose spec changed made anew (see reloadClusters).
func (a *Agent) Reload(ctx context.Context, cfg *config.Config) {
	removed := a.reloadClusters(a.Config(), cfg)
	a.setConfig(cfg)
	if a.opts.OnClusterRemoved != nil {
		for _, name := range removed {
			a.opts.OnClusterRemoved(name)
		}
	}
	a.mu.Lock()
	a.reloadErr = ""
	old := a.pollers
	if old != nil { // running: poll the new Sources, on their new intervals
		old.cancel()
		a.pollers = startPollers(ctx, a, cfg)
	}
	a.mu.Unlock()
	// Waited for outside the lock: a poller that has fetched takes it to keep what it fetched.
	old.stop()
}

// RefuseReload records that a new configuration was refused (the old one keeps running).
func (a *Agent) RefuseReload(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reloadErr = err.Error()
}

// setConfig installs cfg and queues each of its pairs.
func (a *Agent) setConfig(cfg *config.Config) {
	pairs := map[string]AppCluster{}
	for i := range cfg.Apps {
		app := &cfg.Apps[i]
		selected, err := policies.SelectClusters(app.Spec.ClusterSelector, cfg.Clusters)
		if err != nil { // config.Load validated the selector
			a.logger.Error("App's cluster selector", "app", app.Metadata.Name, "error", err)
			continue
		}
		for _, c := range selected {
			key := AppCluster{App: app, Cluster: c}
			pairs[key.String()] = key
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cfg, a.pairs = cfg, pairs
	a.stopFights(pairs)
	for key := range a.status {
		if _, ok := pairs[key]; !ok {
			delete(a.status, key)
		}
	}
	for key, pair := range pairs {
		if a.status[key] == nil {
			a.status[key] = &PairStatus{App: pair.App.Metadata.Name, Cluster: pair.Cluster.Metadata.Name, State: StateUnknown}
		}
		a.queue.Add(key)
	}
}
