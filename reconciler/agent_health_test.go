package reconciler_test

import (
	"strings"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/reconciler"
)

// TestAgentShowsHealthOfAppsItDoesNotWaitFor: an App without autoRollback or waves is not
// waited for, yet its status shows health: Healthy once its Deployment is available, and
// Degraded once a commit's Deployment is past its progress deadline, the pair still Synced.
func TestAgentShowsHealthOfAppsItDoesNotWaitFor(t *testing.T) {
	fleet := shared.Fleet(t)
	dev := fleet.Clusters[0]
	ns := fleettest.Namespace(t, dev)
	repo := appRepo(t, ns, map[string]string{"web.yaml": deployment, "a.yaml": configMap("a", "1")})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app", ClusterSelector: devOnly(),
		Sync:   config.SyncPolicy{Automated: true},
		Health: config.HealthPolicy{Timeout: config.Duration{Duration: time.Minute}}}, ns)
	cfg.Sources[0].Spec.Interval = config.Duration{Duration: time.Hour}
	agent := runAgent(t, cfg)
	health := func() reconciler.PairStatus {
		if st := agent.Status(); len(st) == 1 {
			return st[0]
		}
		return reconciler.PairStatus{}
	}
	describe := func() string { st := health(); return string(st.State) + " " + st.Health + " " + st.LastError }
	waitFor(t, time.Minute, func() bool { st := health(); return st.State == reconciler.StateSynced && st.Health == "Healthy" }, describe)

	stuck := strings.Replace(deployment, "spec:\n  replicas: 2", "spec:\n  replicas: 2\n  progressDeadlineSeconds: 5", 1)
	stuck = strings.Replace(stuck, "    spec:\n", "    spec:\n      nodeSelector: {no-such-node: \"true\"}\n", 1)
	writeApp(t, repo, ns, map[string]string{"web.yaml": stuck, "a.yaml": configMap("a", "2")})
	bad := head(t, repo)
	if err := agent.Refresh("fleet"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, func() bool {
		st := health()
		return st.AppliedRevision == bad && st.State == reconciler.StateSynced && st.Health == "Degraded"
	}, describe)
}
