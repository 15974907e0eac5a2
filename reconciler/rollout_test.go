package reconciler_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/reconciler"
)

// startAgent runs an agent on cfg with s until the stop it returns is called (or the test ends).
func startAgent(t *testing.T, s *reconciler.Syncer, cfg *config.Config) (*reconciler.Agent, func()) {
	t.Helper()
	opts := reconciler.DefaultAgentOptions()
	opts.RetryBase, opts.RetryMax = 100*time.Millisecond, time.Second
	agent := reconciler.NewAgent(s, cfg, opts)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = agent.Run(ctx) })
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return agent, stop
}

// firstApplied is when the pair's first change that applied commit started (zero if none).
func firstApplied(t *testing.T, l *history.Ledger, app, cluster, commit string) time.Time {
	t.Helper()
	for _, c := range changesOf(t, l, app, cluster) {
		if c.Revision.Commit == commit && c.RestoredFrom == 0 && c.Snapshot != "" {
			return c.Started
		}
	}
	return time.Time{}
}

// rolloutEvent is when the App's rollout recorded a transition of kind whose reason has text.
func rolloutEvent(t *testing.T, l *history.Ledger, app, commit, kind, text string) time.Time {
	t.Helper()
	changes, err := l.List(context.Background(), history.Filter{App: app, Cluster: history.RolloutApp, Revision: commit})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		if string(c.Result) == kind && strings.Contains(c.Reason, text) {
			return c.Started
		}
	}
	return time.Time{}
}

// TestAgentRollsOutInWaves: waves dev (bake 1 s) → staging (bake 1 h) → prod. A good commit
// goes to dev, then staging once dev baked, and waits there until promoted, then prod; a
// commit whose Deployment cannot become available on staging (a ResourceQuota there admits no
// new pod) passes dev, halts in staging, is rolled back there and never reaches prod; a fixing
// commit starts over from dev, and an agent stopped while staging bakes and started again on
// the same ledger carries on from staging.
func TestAgentRollsOutInWaves(t *testing.T) {
	fleet := shared.Fleet(t)
	ns := fleettest.Namespace(t, fleet.Clusters...)
	repo := appRepo(t, ns, map[string]string{"web.yaml": deployment, "a.yaml": configMap("a", "1")})
	env := func(v string) metav1.LabelSelector {
		return metav1.LabelSelector{MatchLabels: map[string]string{"env": v}}
	}
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app",
		Sync:   config.SyncPolicy{Automated: true, Prune: true},
		Health: config.HealthPolicy{Timeout: config.Duration{Duration: time.Minute}},
		Rollout: config.RolloutPolicy{Waves: []config.Wave{
			{Name: "dev", ClusterSelector: env("dev"), BakeTime: config.Duration{Duration: time.Second}},
			{Name: "staging", ClusterSelector: env("staging"), BakeTime: config.Duration{Duration: time.Hour}},
		}}}, ns) // prod: the implicit last wave
	cfg.Sources[0].Spec.Interval = config.Duration{Duration: time.Hour}
	s, l := ledgerSyncer(t)
	agent, stop := startAgent(t, s, cfg)
	ctx := context.Background()
	status := func(cluster string) reconciler.PairStatus {
		for _, st := range agent.Status() {
			if st.Cluster == cluster {
				return st
			}
		}
		return reconciler.PairStatus{}
	}
	describe := func() string {
		out := states(agent)
		for _, st := range agent.Status() {
			out += "\n" + st.Cluster + ": " + st.Rollout + " applied " + st.AppliedRevision
		}
		return out
	}
	value := func(i int) string {
		v, _ := fleettest.KubectlResult(fleet.Clusters[i], "-n", ns, "get", "configmap/a", "-o", "jsonpath={.data.value}")
		return v
	}

	// A good commit: dev, then staging after dev's bake; prod waits for staging's (long) bake.
	first := head(t, repo)
	waitFor(t, 90*time.Second, func() bool { return strings.HasPrefix(status("staging").Rollout, "wave staging baking until") },
		describe)
	if st := status("prod"); st.State != reconciler.StateWaiting || !strings.HasPrefix(st.Rollout, "held: wave rest waits for staging") || value(2) != "" {
		t.Fatalf("prod while staging bakes: %s %q, value %q", st.State, st.Rollout, value(2))
	}
	devPassed := rolloutEvent(t, l, ns, first, "Passed", "wave dev")
	if stagingAt := firstApplied(t, l, ns, "staging", first); devPassed.IsZero() || stagingAt.Before(devPassed) {
		t.Errorf("staging applied at %s, dev passed at %s", stagingAt, devPassed)
	}
	if st, err := agent.PromoteRollout(ctx, ns, history.Actor{Token: "oncall"}); err != nil || st.Wave != "rest" {
		t.Fatalf("promote: %+v, %v", st, err)
	}
	waitFor(t, 90*time.Second, func() bool { return allIn(agent, reconciler.StateSynced, first) && value(2) == "1" }, describe)
	promoted := rolloutEvent(t, l, ns, first, "Promoted", "")
	if prodAt := firstApplied(t, l, ns, "prod", first); promoted.IsZero() || prodAt.Before(promoted) {
		t.Errorf("prod applied at %s, staging promoted at %s", prodAt, promoted)
	}
	if st, err := agent.Rollout(ctx, ns); err != nil || !st.Done || st.Reason != "rollout of "+first[:7]+" complete" {
		t.Errorf("rollout status: %+v, %v", st, err)
	}

	// A commit that fails health in the second wave: dev runs it, staging halts and is rolled
	// back, prod never gets it. Staging admits no new pod, so the new template cannot roll out.
	fleettest.Kubectl(t, fleet.Clusters[1], "-n", ns, "create", "quota", "no-new-pods", "--hard=pods=0")
	stuck := strings.Replace(deployment, "spec:\n  replicas: 2", "spec:\n  replicas: 2\n  progressDeadlineSeconds: 5", 1)
	stuck = strings.Replace(stuck, "metadata: {labels: {app: web}}", "metadata: {labels: {app: web, build: \"2\"}}", 1)
	writeApp(t, repo, ns, map[string]string{"web.yaml": stuck, "a.yaml": configMap("a", "2")})
	bad := head(t, repo)
	if err := agent.Refresh("fleet"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 120*time.Second, func() bool {
		st := status("staging")
		return strings.HasPrefix(st.Rollout, "halted in wave staging: cluster staging Degraded at "+bad[:7]) && st.AppliedRevision == first
	}, describe)
	if at := firstApplied(t, l, ns, "staging", bad); at.IsZero() {
		t.Error("the bad commit never reached staging")
	}
	if at := firstApplied(t, l, ns, "prod", bad); !at.IsZero() {
		t.Errorf("the bad commit reached prod at %s", at)
	}
	waitFor(t, 30*time.Second, func() bool { // prod is queued again when staging halts
		st := status("prod")
		return st.State == reconciler.StateWaiting && strings.Contains(st.Rollout, "halted in wave staging")
	}, describe)
	if st := status("dev"); st.AppliedRevision != bad {
		t.Errorf("dev runs %s, want the commit it passed with, %s", st.AppliedRevision, bad)
	}
	if v := value(0) + value(1) + value(2); v != "211" {
		t.Errorf("dev, staging and prod hold %q, want 2 (dev passed), 1 (rolled back) and 1 (never reached)", v)
	}

	// A fixing commit (with staging's quota lifted) starts over from dev; the agent stopped
	// while staging bakes carries on.
	fleettest.Kubectl(t, fleet.Clusters[1], "-n", ns, "delete", "quota", "no-new-pods")
	writeApp(t, repo, ns, map[string]string{"web.yaml": strings.Replace(deployment, "replicas: 2", "replicas: 3", 1), "a.yaml": configMap("a", "3")})
	fixed := head(t, repo)
	if err := agent.Refresh("fleet"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 90*time.Second, func() bool {
		return strings.HasPrefix(status("staging").Rollout, "wave staging baking until") && value(1) == "3"
	}, describe)
	before, err := agent.Rollout(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	s2 := reconciler.NewSyncer(t.TempDir())
	s2.Ledger = l
	agent, _ = startAgent(t, s2, cfg)
	waitFor(t, 30*time.Second, func() bool { return strings.HasPrefix(status("prod").Rollout, "held: wave rest waits for staging") }, describe)
	after, err := agent.Rollout(ctx, ns)
	if err != nil || after.State.Target != fixed || after.Wave != "staging" || !after.State.BakeStart.Equal(before.State.BakeStart) {
		t.Fatalf("after the restart: %+v, %v; before %+v", after.State, err, before.State)
	}
	if value(2) != "1" {
		t.Fatalf("prod changed across the restart: %q", value(2))
	}
	if _, err := agent.PromoteRollout(ctx, ns, history.Actor{Token: "oncall"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 90*time.Second, func() bool { return allIn(agent, reconciler.StateSynced, fixed) && value(2) == "3" }, describe)
	if starts := 0; true {
		changes, _ := l.List(ctx, history.Filter{App: ns, Cluster: history.RolloutApp, Revision: fixed})
		for _, c := range changes {
			if c.Result == "Started" {
				starts++
			}
		}
		if starts != 1 {
			t.Errorf("the rollout of the fixing commit started %d times, want once (carried on after the restart)", starts)
		}
	}
}

// TestSyncRollsOutWaveByWave: a one-shot sync of an App with waves dev (bake 1 s) → staging →
// prod goes wave by wave: staging starts only after dev was healthy and baked. A commit that
// cannot become healthy on staging (a quota there admits no new pod) halts the pass there:
// dev runs it, staging is rolled back, prod is refused and keeps the previous revision. A dry
// run previews every pair.
func TestSyncRollsOutWaveByWave(t *testing.T) {
	fleet := shared.Fleet(t)
	ns := fleettest.Namespace(t, fleet.Clusters...)
	repo := appRepo(t, ns, map[string]string{"web.yaml": deployment, "a.yaml": configMap("a", "1")})
	env := func(v string) metav1.LabelSelector {
		return metav1.LabelSelector{MatchLabels: map[string]string{"env": v}}
	}
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app",
		Health: config.HealthPolicy{Timeout: config.Duration{Duration: time.Minute}},
		Rollout: config.RolloutPolicy{Waves: []config.Wave{
			{Name: "dev", ClusterSelector: env("dev"), BakeTime: config.Duration{Duration: time.Second}},
			{Name: "staging", ClusterSelector: env("staging")},
		}}}, ns) // prod: the implicit last wave
	s, l := ledgerSyncer(t)
	ctx := context.Background()
	value := func(i int) string {
		v, _ := fleettest.KubectlResult(fleet.Clusters[i], "-n", ns, "get", "configmap/a", "-o", "jsonpath={.data.value}")
		return v
	}

	if results, err := s.Sync(ctx, cfg, reconciler.Options{DryRun: true}); err != nil || len(results) != 3 || results[2].Status != reconciler.StatusPlanned {
		t.Fatalf("dry run: %+v, %v", results, err)
	}
	first := head(t, repo)
	results, err := s.Sync(ctx, cfg, reconciler.Options{})
	if err != nil || len(results) != 3 {
		t.Fatalf("sync: %+v, %v", results, err)
	}
	for _, r := range results {
		if r.Status != reconciler.StatusHealthy {
			t.Errorf("%s: %s %s", r.Cluster, r.Status, r.Error)
		}
	}
	var devDone time.Time
	for _, c := range changesOf(t, l, ns, "dev") {
		if c.Revision.Commit == first && c.Snapshot != "" {
			devDone = c.Finished
		}
	}
	stagingAt, prodAt := firstApplied(t, l, ns, "staging", first), firstApplied(t, l, ns, "prod", first)
	if devDone.IsZero() || stagingAt.Sub(devDone) < time.Second || prodAt.Before(stagingAt) {
		t.Errorf("dev finished %v, staging started %v, prod started %v: want staging a bake (1 s) after dev, prod after staging", devDone, stagingAt, prodAt)
	}

	fleettest.Kubectl(t, fleet.Clusters[1], "-n", ns, "create", "quota", "no-new-pods", "--hard=pods=0")
	stuck := strings.Replace(deployment, "spec:\n  replicas: 2", "spec:\n  replicas: 2\n  progressDeadlineSeconds: 5", 1)
	stuck = strings.Replace(stuck, "metadata: {labels: {app: web}}", "metadata: {labels: {app: web, build: \"2\"}}", 1)
	writeApp(t, repo, ns, map[string]string{"web.yaml": stuck, "a.yaml": configMap("a", "2")})
	results, err = s.Sync(ctx, cfg, reconciler.Options{})
	if err != nil || len(results) != 3 {
		t.Fatalf("sync of the bad commit: %+v, %v", results, err)
	}
	want := []reconciler.Status{reconciler.StatusHealthy, reconciler.StatusRefused, reconciler.StatusDegraded} // dev, prod, staging
	for i, r := range results {
		if r.Status != want[i] {
			t.Errorf("%s: %s (%s), want %s", r.Cluster, r.Status, r.Error, want[i])
		}
	}
	if !strings.Contains(results[1].Error, "not synced: wave rest comes after where the rollout stopped (wave staging halted: cluster staging Degraded)") {
		t.Errorf("prod's refusal: %q", results[1].Error)
	}
	if results[2].AutoRollback == nil {
		t.Errorf("staging was not rolled back: %+v", results[2])
	}
	if v := value(0) + value(1) + value(2); v != "211" {
		t.Errorf("dev, staging and prod hold %q, want 2 (passed), 1 (rolled back) and 1 (never reached)", v)
	}
}
