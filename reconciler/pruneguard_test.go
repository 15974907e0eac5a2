package reconciler_test

import (
	"context"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/clusters/localfleet"
	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/reconciler"
	"github.com/flotilla-dev/flotilla/sources/gittest"
)

// pruneSetup is an App of ConfigMaps with prune on, synced once to the dev cluster.
type pruneSetup struct {
	cluster *localfleet.Cluster
	ns      string
	repo    *gittest.Repo
	cfg     *config.Config
	syncer  *reconciler.Syncer
	opts    reconciler.Options
}

func newPruneSetup(t *testing.T, policy config.SyncPolicy, names ...string) *pruneSetup {
	t.Helper()
	fleet := shared.Fleet(t)
	p := &pruneSetup{cluster: fleet.Clusters[0], syncer: reconciler.NewSyncer(t.TempDir()), opts: reconciler.Options{Cluster: "dev"}}
	p.ns = fleettest.Namespace(t, p.cluster)
	p.repo = appRepo(t, p.ns, configMaps("1", names...))
	policy.Prune = true
	p.cfg = fleetConfig(fleet, p.repo.FileURL(), config.AppSpec{Path: "app", Sync: policy}, p.ns)
	syncOK(t, p.syncer, p.cfg, p.opts)
	return p
}

// configMaps are files NAME.yaml of ConfigMaps NAME with the value.
func configMaps(value string, names ...string) map[string]string {
	files := map[string]string{}
	for _, name := range names {
		files[name+".yaml"] = configMap(name, value)
	}
	return files
}

// names lists the App's ConfigMaps in the cluster, as kubectl sees them.
func (p *pruneSetup) names(t *testing.T) string {
	return fleettest.Kubectl(t, p.cluster, "-n", p.ns, "get", "configmaps", "-l", clusters.LabelApp, "-o", "jsonpath={.items[*].metadata.name}")
}

func (p *pruneSetup) value(t *testing.T, name string) string {
	return fleettest.Kubectl(t, p.cluster, "-n", p.ns, "get", "configmap/"+name, "-o", "jsonpath={.data.value}")
}

// syncRefused syncs and expects the one result to be Refused with an error naming each of want,
// --confirm-prune and that nothing was applied.
func (p *pruneSetup) syncRefused(t *testing.T, want ...string) reconciler.Result {
	t.Helper()
	results, err := p.syncer.Sync(context.Background(), p.cfg, p.opts)
	if err != nil {
		t.Fatal(err)
	}
	r := results[0]
	for _, w := range append(want, "--confirm-prune", "nothing was applied or pruned") {
		if r.Status != reconciler.StatusRefused || !strings.Contains(r.Error, w) {
			t.Fatalf("status %s, error %q; want Refused saying %q", r.Status, r.Error, w)
		}
	}
	return r
}

// TestPruneShareLimit: with spec.sync.maxPrunePercent, a sync that would prune a larger share of
// the App's objects applies nothing, prunes nothing and says how to confirm; a smaller share is
// pruned as usual, and --confirm-prune lifts the limit for one pass.
func TestPruneShareLimit(t *testing.T) {
	p := newPruneSetup(t, config.SyncPolicy{MaxPrunePercent: 50}, "a", "b", "c", "d", "e")

	writeApp(t, p.repo, p.ns, configMaps("1", "a", "b", "c", "d")) // 1 of 5: within the limit
	if r := syncOK(t, p.syncer, p.cfg, p.opts)[0]; r.Changes.Count(clusters.ActionPruned) != 1 || p.names(t) != "a b c d" {
		t.Fatalf("pruning 1 of 5: %d pruned, left %q; want e pruned", r.Changes.Count(clusters.ActionPruned), p.names(t))
	}

	writeApp(t, p.repo, p.ns, configMaps("2", "a")) // 3 of 4: over the limit
	r := p.syncRefused(t, "pruning 3 of 4 managed objects")
	if got := p.names(t); got != "a b c d" || len(r.Changes) != 0 {
		t.Errorf("after the refusal the cluster holds %q and the result lists %d changes; want a b c d and none", got, len(r.Changes))
	}
	if v := p.value(t, "a"); v != "1" {
		t.Errorf("configmap a = %q: a refused render must not be applied", v)
	}

	p.opts.ConfirmPrune = true
	if r := syncOK(t, p.syncer, p.cfg, p.opts)[0]; r.Changes.Count(clusters.ActionPruned) != 3 || p.names(t) != "a" {
		t.Errorf("with --confirm-prune: %d pruned, left %q; want b, c, d pruned", r.Changes.Count(clusters.ActionPruned), p.names(t))
	}
	if v := p.value(t, "a"); v != "2" {
		t.Errorf("configmap a = %q after the confirmed sync, want 2", v)
	}
}

// TestPruningEverythingIsRefused: without spec.sync.maxPrunePercent, a render that would prune
// every object the App has (here: all of them renamed) is refused and applies nothing, diff says
// so, and a confirmed sync goes ahead.
func TestPruningEverythingIsRefused(t *testing.T) {
	p := newPruneSetup(t, config.SyncPolicy{}, "a", "b")

	writeApp(t, p.repo, p.ns, configMaps("1", "x"))
	p.syncRefused(t, "pruning all 2 managed objects: none of them is in the render (1 object)", "spec.sync.maxPrunePercent: 100")
	if got := p.names(t); got != "a b" {
		t.Errorf("after the refusal the cluster holds %q, want a b (x not created, nothing pruned)", got)
	}
	diffs, err := p.syncer.Diff(context.Background(), p.cfg, p.opts)
	if err != nil || len(diffs) != 1 || !strings.Contains(diffs[0].Refusal, "pruning all 2 managed objects") || len(diffs[0].Objects) != 3 {
		t.Errorf("diff: %v, %+v; want the guard's refusal and the 3 changes a confirmed sync makes", err, diffs)
	}
	p.opts.ConfirmPrune = true
	if r := syncOK(t, p.syncer, p.cfg, p.opts)[0]; r.Changes.Count(clusters.ActionPruned) != 2 || p.names(t) != "x" {
		t.Errorf("with --confirm-prune: %d pruned, cluster holds %q; want a and b pruned, x created", r.Changes.Count(clusters.ActionPruned), p.names(t))
	}
}
