package reconciler_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/reconciler"
	"github.com/flotilla-dev/flotilla/sources/gittest"
)

// runAgent runs an agent on cfg until the test ends, and returns it.
func runAgent(t *testing.T, cfg *config.Config) *reconciler.Agent {
	t.Helper()
	return runAgentWith(t, cfg, reconciler.DefaultAgentOptions())
}

func runAgentWith(t *testing.T, cfg *config.Config, opts reconciler.AgentOptions) *reconciler.Agent {
	t.Helper()
	return runAgentOn(t, reconciler.NewSyncer(t.TempDir()), cfg, opts)
}

// runAgentOn runs an agent with the Syncer s until the test ends.
func runAgentOn(t *testing.T, s *reconciler.Syncer, cfg *config.Config, opts reconciler.AgentOptions) *reconciler.Agent {
	t.Helper()
	opts.RetryBase, opts.RetryMax = 100*time.Millisecond, time.Second
	agent := reconciler.NewAgent(s, cfg, opts)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = agent.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return agent
}

// waitFor polls cond every 20 ms until it holds or the deadline passes, then fails with what
// describe says.
func waitFor(t *testing.T, within time.Duration, cond func() bool, describe func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, describe())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// states is every pair's "cluster=State".
func states(agent *reconciler.Agent) string {
	s := ""
	for _, st := range agent.Status() {
		s += fmt.Sprintf("%s=%s(%s) ", st.Cluster, st.State, st.LastError)
	}
	return s
}

func allIn(agent *reconciler.Agent, state reconciler.SyncState, commit string) bool {
	for _, st := range agent.Status() {
		if st.State != state || st.WantedRevision != commit {
			return false
		}
	}
	return len(agent.Status()) > 0
}

// TestAgentSyncsEachNewCommit: the agent syncs the App to every cluster at start, then each
// commit: at once when asked to refresh the Source (as a webhook will), and within the poll
// interval without.
func TestAgentSyncsEachNewCommit(t *testing.T) {
	fleet := shared.Fleet(t)
	ns := fleettest.Namespace(t, fleet.Clusters...)
	repo := appRepo(t, ns, map[string]string{"a.yaml": configMap("a", "1")})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app", Sync: config.SyncPolicy{Automated: true}}, ns)
	cfg.Sources[0].Spec.Interval = config.Duration{Duration: time.Hour}
	agent := runAgent(t, cfg)
	waitFor(t, time.Minute, func() bool { return allIn(agent, reconciler.StateSynced, head(t, repo)) }, func() string { return states(agent) })

	valueEverywhere := func(want string) func() bool {
		return func() bool {
			for _, c := range fleet.Clusters {
				if v, _ := fleettest.KubectlResult(c, "-n", ns, "get", "configmap/a", "-o", "jsonpath={.data.value}"); v != want {
					return false
				}
			}
			return true
		}
	}
	writeApp(t, repo, ns, map[string]string{"a.yaml": configMap("a", "2")})
	if err := agent.Refresh("fleet"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, valueEverywhere("2"), func() string { return "value 2 not on every cluster: " + states(agent) })
	waitFor(t, 10*time.Second, func() bool { return allIn(agent, reconciler.StateSynced, head(t, repo)) }, func() string { return states(agent) })
	for _, st := range agent.Status() {
		if st.AppliedRevision != head(t, repo) || st.Writes != 1 {
			t.Errorf("%s: applied %s with %d writes, want %s with 1", st.Cluster, st.AppliedRevision, st.Writes, head(t, repo))
		}
	}
}

// TestAgentPollsOnTheSourceInterval: without a refresh, a commit arrives within the interval.
func TestAgentPollsOnTheSourceInterval(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	repo := appRepo(t, ns, map[string]string{"a.yaml": configMap("a", "1")})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app", Sync: config.SyncPolicy{Automated: true}, ClusterSelector: devOnly()}, ns)
	cfg.Sources[0].Spec.Interval = config.Duration{Duration: time.Second}
	agent := runAgent(t, cfg)
	waitFor(t, time.Minute, func() bool { return allIn(agent, reconciler.StateSynced, head(t, repo)) }, func() string { return states(agent) })
	writeApp(t, repo, ns, map[string]string{"a.yaml": configMap("a", "2")})
	waitFor(t, 10*time.Second, func() bool {
		v, _ := fleettest.KubectlResult(c, "-n", ns, "get", "configmap/a", "-o", "jsonpath={.data.value}")
		return v == "2"
	}, func() string { return states(agent) })
}

// TestAgentOnlyReportsAnAppThatIsNotAutomated: such an App is compared with Git (OutOfSync), not
// applied, until someone asks for a sync.
func TestAgentOnlyReportsAnAppThatIsNotAutomated(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	repo := appRepo(t, ns, map[string]string{"a.yaml": configMap("a", "1")})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app", ClusterSelector: devOnly()}, ns)
	agent := runAgent(t, cfg)
	waitFor(t, time.Minute, func() bool { return allIn(agent, reconciler.StateOutOfSync, head(t, repo)) }, func() string { return states(agent) })
	if _, err := fleettest.KubectlResult(c, "-n", ns, "get", "configmap/a"); err == nil {
		t.Fatal("the agent applied an App that is not automated")
	}
	if _, err := agent.RequestSync(ns, "", reconciler.Options{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { return allIn(agent, reconciler.StateSynced, head(t, repo)) }, func() string { return states(agent) })
	if v := fleettest.Kubectl(t, c, "-n", ns, "get", "configmap/a", "-o", "jsonpath={.data.value}"); v != "1" {
		t.Errorf("after the requested sync: value %q, want 1", v)
	}
	if _, err := agent.RequestSync("no-such-app", "", reconciler.Options{}); err == nil {
		t.Error("a sync of an App that is not configured was accepted")
	}
}

func devOnly() metav1.LabelSelector {
	return metav1.LabelSelector{MatchLabels: map[string]string{"env": "dev"}}
}

func head(t *testing.T, repo *gittest.Repo) string { return repo.Git("rev-parse", "HEAD") }

// TestAgentHealsDriftByMode: with drift.mode enforce, a kubectl scale, patch or delete of a
// managed object is taken back within a second or so (re-created when deleted); with warn, it
// is reported as drifted, naming the manager, and left alone.
func TestAgentHealsDriftByMode(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	enforced := fleettest.Namespace(t, c)
	warned := fleettest.Namespace(t, c)
	files := map[string]string{"web.yaml": deployment, "a.yaml": configMap("a", "1")}
	cfg := fleetConfig(fleet, appRepo(t, enforced, files).FileURL(), config.AppSpec{Path: "app", ClusterSelector: devOnly(),
		Sync: config.SyncPolicy{Automated: true}, Drift: config.DriftPolicy{Mode: config.DriftEnforce}}, enforced)
	warnCfg := fleetConfig(fleet, appRepo(t, warned, files).FileURL(), config.AppSpec{Path: "app", ClusterSelector: devOnly(),
		Sync: config.SyncPolicy{Automated: true}, Drift: config.DriftPolicy{Mode: config.DriftWarn}}, warned)
	warnCfg.Sources[0].Metadata.Name, warnCfg.Apps[0].Spec.Source = "warned", "warned"
	cfg.Sources = append(cfg.Sources, warnCfg.Sources[0])
	cfg.Apps = append(cfg.Apps, warnCfg.Apps[0])
	agent := runAgent(t, cfg)
	waitFor(t, time.Minute, func() bool { return agent.Ready() }, func() string { return states(agent) })

	get := func(ns, object, path string) string {
		v, _ := fleettest.KubectlResult(c, "-n", ns, "get", object, "-o", "jsonpath="+path)
		return v
	}
	fleettest.Kubectl(t, c, "-n", enforced, "scale", "deployment/web", "--replicas=5")
	waitFor(t, 10*time.Second, func() bool { return get(enforced, "deployment/web", "{.spec.replicas}") == "2" }, func() string { return "replicas not taken back: " + states(agent) })
	fleettest.Kubectl(t, c, "-n", enforced, "patch", "configmap/a", "--field-manager=hotfix", "--type=merge", "-p", `{"data":{"value":"9"}}`)
	waitFor(t, 10*time.Second, func() bool { return get(enforced, "configmap/a", "{.data.value}") == "1" }, func() string { return "value not taken back: " + states(agent) })
	fleettest.Kubectl(t, c, "-n", enforced, "delete", "configmap/a")
	waitFor(t, 10*time.Second, func() bool { return get(enforced, "configmap/a", "{.data.value}") == "1" }, func() string { return "not re-created: " + states(agent) })

	fleettest.Kubectl(t, c, "-n", warned, "patch", "configmap/a", "--field-manager=hotfix", "--type=merge", "-p", `{"data":{"value":"9"}}`)
	waitFor(t, 10*time.Second, func() bool {
		for _, st := range agent.Status() {
			if st.App == warned && st.State == reconciler.StateDrifted && len(st.Drifted) == 1 && st.Drifted[0].Manager == "hotfix" {
				return true
			}
		}
		return false
	}, func() string { return "warn drift not reported: " + states(agent) })
	if v := get(warned, "configmap/a", "{.data.value}"); v != "9" {
		t.Errorf("drift.mode warn: value %q, want the hotfix's 9 left alone", v)
	}
}

// TestAgentStopsFightingAndResumes: a loop that keeps re-setting a field Flotilla takes back is
// reported as Fighting, naming its manager and the field; healing stops, and a reconcile of the
// pair (a requested sync) leaves the field to it too; once the loop stops and the window
// passes, the agent takes the field back.
func TestAgentStopsFightingAndResumes(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	cfg := fleetConfig(fleet, appRepo(t, ns, map[string]string{"a.yaml": configMap("a", "1")}).FileURL(), config.AppSpec{Path: "app", ClusterSelector: devOnly(),
		Sync: config.SyncPolicy{Automated: true}, Drift: config.DriftPolicy{Mode: config.DriftEnforce}}, ns)
	opts := reconciler.DefaultAgentOptions()
	opts.FightLimit, opts.FightWindow = 3, 3*time.Second
	agent := runAgentWith(t, cfg, opts)
	waitFor(t, time.Minute, func() bool { return agent.Ready() }, func() string { return states(agent) })
	value := func() string {
		v, _ := fleettest.KubectlResult(c, "-n", ns, "get", "configmap/a", "-o", "jsonpath={.data.value}")
		return v
	}
	fighting := func() bool {
		st := agent.Status()[0]
		return st.State == reconciler.StateFighting && len(st.Drifted) == 1 && st.Drifted[0].Manager == "fighter" &&
			slices.Equal(st.Drifted[0].Fields, []string{".data.value"})
	}
	describe := func() string { return fmt.Sprintf("%s %+v", states(agent), agent.Status()[0].Drifted) }

	var patches atomic.Int64
	stop := make(chan struct{})
	looped := make(chan struct{})
	go func() {
		defer close(looped)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			if _, err := fleettest.KubectlResult(c, "-n", ns, "patch", "configmap/a", "--field-manager=fighter", "--type=merge", "-p", fmt.Sprintf(`{"data":{"value":"loop-%d"}}`, i)); err == nil {
				patches.Add(1)
			}
		}
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-looped
	}()
	waitFor(t, 30*time.Second, fighting, func() string { return "no Fighting over .data.value by fighter: " + describe() })

	// Healing stops: for the next patches of the loop, and through a requested sync, the value
	// stays the fighter's.
	before := agent.Status()[0].LastSync
	if _, err := agent.RequestSync(ns, "dev", reconciler.Options{}); err != nil {
		t.Fatal(err)
	}
	from := patches.Load()
	for patches.Load() < from+8 || !agent.Status()[0].LastSync.After(before) {
		if v := value(); v == "1" {
			t.Fatalf("value taken back while fighting: %s", describe())
		}
		if !fighting() {
			t.Fatalf("no longer Fighting while the loop goes on: %s", describe())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if v := value(); !strings.HasPrefix(v, "loop-") {
		t.Fatalf("value %q while fighting, want the fighter's", v)
	}

	close(stop)
	<-looped
	waitFor(t, 30*time.Second, func() bool {
		return value() == "1" && agent.Status()[0].State == reconciler.StateSynced && len(agent.Status()[0].Drifted) == 0
	}, func() string { return "healing did not resume after the loop stopped: " + describe() })
}
