package reconciler_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/clusters/localfleet"
	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/reconciler"
	"github.com/flotilla-dev/flotilla/sources/gitserver"
)

// ownFleet starts a fleet of n clusters without Istio for one test that breaks a cluster, and
// stops it when the test ends.
func ownFleet(t *testing.T, n int, prefix string) *localfleet.Fleet {
	t.Helper()
	opts := localfleet.DefaultOptions()
	opts.Clusters, opts.Istio, opts.NamePrefix = n, false, prefix
	fleet, err := localfleet.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := fleet.Stop(); err != nil {
			t.Errorf("stop fleet: %v", err)
		}
	})
	return fleet
}

// TestAgentClusterDownOthersConvergeThenItCatchesUp: with one cluster's kube-apiserver stopped,
// a commit pushed to the Git server (served over HTTP) is applied on the other cluster while the
// stopped one's status shows Failed with an error naming it; once its kube-apiserver is back,
// the agent's retries bring it to the commit without anyone asking, and its drift watch works
// again (a kubectl scale of a managed Deployment is taken back). It uses a fleet of its own, two
// clusters, since it breaks one.
func TestAgentClusterDownOthersConvergeThenItCatchesUp(t *testing.T) {
	fleet := ownFleet(t, 2, "agentdown")
	up, down := fleet.Clusters[0], fleet.Clusters[1] // dev, staging in fleetConfig
	ns := fleettest.Namespace(t, fleet.Clusters...)
	repo := appRepo(t, ns, map[string]string{"web.yaml": deployment, "a.yaml": configMap("a", "1")})
	git, err := gitserver.Start(gitserver.Options{Root: filepath.Dir(repo.Bare)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { git.Close() })
	cfg := fleetConfig(fleet, git.RepoURL("fleet"), config.AppSpec{Path: "app",
		Sync: config.SyncPolicy{Automated: true}, Drift: config.DriftPolicy{Mode: config.DriftEnforce}}, ns)
	// Only Refresh fetches; runAgent retries a failed pair from 100 ms up to 1 s.
	cfg.Sources[0].Spec.Interval = config.Duration{Duration: time.Hour}
	agent := runAgent(t, cfg)
	waitFor(t, time.Minute, func() bool { return agent.Ready() && allIn(agent, reconciler.StateSynced, head(t, repo)) },
		func() string { return states(agent) })
	first := head(t, repo)

	status := func(cluster string) reconciler.PairStatus {
		for _, st := range agent.Status() {
			if st.Cluster == cluster {
				return st
			}
		}
		t.Fatalf("no status for cluster %s: %s", cluster, states(agent))
		return reconciler.PairStatus{}
	}
	get := func(c *localfleet.Cluster, object, path string) string {
		v, _ := fleettest.KubectlResult(c, "-n", ns, "get", object, "-o", "jsonpath="+path)
		return v
	}

	down.StopAPIServer()
	stopped := time.Now()
	writeApp(t, repo, ns, map[string]string{"web.yaml": deployment, "a.yaml": configMap("a", "2")})
	commit := head(t, repo)
	if err := agent.Refresh("fleet"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool {
		st := status("dev")
		return get(up, "configmap/a", "{.data.value}") == "2" && st.State == reconciler.StateSynced && st.AppliedRevision == commit
	}, func() string { return "dev did not converge while staging is down: " + states(agent) })
	waitFor(t, 10*time.Second, func() bool {
		st := status("staging")
		return st.State == reconciler.StateFailed && st.WantedRevision == commit && strings.Contains(st.LastError, "staging")
	}, func() string { return "staging's status shows no failure naming it: " + states(agent) })
	if st := status("staging"); st.AppliedRevision != first {
		t.Errorf("staging (down): applied %s, want %s still", st.AppliedRevision, first)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var progress strings.Builder
	restarted, err := fleet.RestartStopped(ctx, &progress)
	if err != nil {
		t.Fatalf("restart %s's kube-apiserver: %v\n%s", down.Name, err, progress.String())
	}
	if want := down.Name + "/kube-apiserver"; !slices.Contains(restarted, want) {
		t.Fatalf("restarted %v, want %s", restarted, want)
	}
	back := time.Now()
	t.Logf("%s's kube-apiserver was down for %s", down.Name, back.Sub(stopped).Round(100*time.Millisecond))
	waitFor(t, 30*time.Second, func() bool {
		st := status("staging")
		return get(down, "configmap/a", "{.data.value}") == "2" && st.State == reconciler.StateSynced && st.AppliedRevision == commit
	}, func() string { return "staging did not catch up: " + states(agent) })
	t.Logf("staging caught up %s after its kube-apiserver was back", time.Since(back).Round(100*time.Millisecond))

	// Nothing but the drift watch queues staging now. Its informers watch again after
	// client-go's reflector backoff (0.8 s doubling, jittered, up to 30-60 s): the deadline
	// leaves room for it.
	fleettest.Kubectl(t, down, "-n", ns, "scale", "deployment/web", "--replicas=5")
	scaled := time.Now()
	waitFor(t, time.Minute, func() bool { return get(down, "deployment/web", "{.spec.replicas}") == "2" },
		func() string { return "drift watch not back: replicas not taken back on staging: " + states(agent) })
	t.Logf("drift on staging healed %s after the scale", time.Since(scaled).Round(100*time.Millisecond))
}
