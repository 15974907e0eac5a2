package reconciler_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/reconciler"
)

// TestAgentReloadDropsAndRestartsDriftWatches: a reload that removes a cluster stops its drift
// watch and tells OnClusterRemoved; one that points a cluster elsewhere (its context changed)
// watches the new place: drift there is taken back.
func TestAgentReloadDropsAndRestartsDriftWatches(t *testing.T) {
	fleet := shared.Fleet(t)
	first, second := fleet.Clusters[0], fleet.Clusters[1]
	ns := fleettest.Namespace(t, first, second)
	repo := appRepo(t, ns, map[string]string{"a.yaml": configMap("a", "1")})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app", Sync: config.SyncPolicy{Automated: true},
		Drift: config.DriftPolicy{Mode: config.DriftEnforce}}, ns)
	cfg.Clusters = cfg.Clusters[:2] // dev on the first cluster, staging on the second
	var mu sync.Mutex
	var removed []string
	opts := reconciler.DefaultAgentOptions()
	opts.OnClusterRemoved = func(cluster string) { mu.Lock(); defer mu.Unlock(); removed = append(removed, cluster) }
	agent := runAgentWith(t, cfg, opts)
	watched := func(want ...string) func() bool {
		return func() bool {
			var got []string
			for cluster, n := range agent.ManagedObjects() {
				if n > 0 {
					got = append(got, cluster)
				}
			}
			slices.Sort(got)
			return agent.Ready() && slices.Equal(got, want)
		}
	}
	waitFor(t, time.Minute, watched("dev", "staging"), func() string { return states(agent) })

	// staging removed; dev now on the second cluster.
	next := fleetConfig(fleet, repo.FileURL(), cfg.Apps[0].Spec, ns)
	next.Clusters = next.Clusters[:1]
	next.Clusters[0].Spec.Context = second.Name
	agent.Reload(context.Background(), next)
	mu.Lock()
	if !slices.Equal(removed, []string{"staging"}) {
		t.Errorf("OnClusterRemoved told %v, want [staging]", removed)
	}
	mu.Unlock()
	waitFor(t, 30*time.Second, func() bool {
		st := agent.Status()
		return watched("dev")() && len(st) == 1 && st[0].State == reconciler.StateSynced
	}, func() string { return "watches after the reload: " + states(agent) })
	fleettest.Kubectl(t, second, "-n", ns, "patch", "configmap/a", "--field-manager=hotfix", "--type=merge", "-p", `{"data":{"value":"9"}}`)
	waitFor(t, 15*time.Second, func() bool {
		v, _ := fleettest.KubectlResult(second, "-n", ns, "get", "configmap/a", "-o", "jsonpath={.data.value}")
		return v == "1"
	}, func() string { return "drift on dev's new cluster not taken back: " + states(agent) })
}
