package reconciler_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/policies"
	"github.com/flotilla-dev/flotilla/reconciler"
	"github.com/flotilla-dev/flotilla/sources"
	"github.com/flotilla-dev/flotilla/sources/gitrepo"
	"github.com/flotilla-dev/flotilla/sources/gittest"
)

// failingRecorder refuses to record.
type failingRecorder struct{}

var errLedgerDown = errors.New("ledger unavailable")

func (failingRecorder) Record(context.Context, reconciler.Record) error { return errLedgerDown }

// checkoutOf fetches the configuration's one Source.
func checkoutOf(t *testing.T, s *reconciler.Syncer, cfg *config.Config) *sources.Checkout {
	t.Helper()
	checkout, err := sources.Fetch(context.Background(), gitrepo.NewFetcher(t.TempDir()), &cfg.Sources[0], s.Limits, s.Cache)
	if err != nil {
		t.Fatal(err)
	}
	return checkout
}

// TestRecorderErrorFailsTheReconcile: a reconcile whose change cannot be recorded is Failed,
// with the recorder's error in Err.
func TestRecorderErrorFailsTheReconcile(t *testing.T) {
	fleet := shared.Fleet(t)
	ns := fleettest.Namespace(t, fleet.Clusters[0])
	cfg := fleetConfig(fleet, appRepo(t, ns, map[string]string{"cm.yaml": configMap("settings", "1")}).FileURL(), config.AppSpec{Path: "app"}, ns)
	s := reconciler.NewSyncer(t.TempDir())
	s.Recorder = failingRecorder{}
	r := s.Reconcile(context.Background(), reconciler.AppCluster{App: &cfg.Apps[0], Cluster: &cfg.Clusters[0]}, checkoutOf(t, s, cfg), reconciler.Options{})
	if r.Status != reconciler.StatusFailed || !errors.Is(r.Err, errLedgerDown) {
		t.Fatalf("status %s, err %v; want Failed with the recorder's error", r.Status, r.Err)
	}
}

// TestResultErrIsTyped: callers can branch on a result's error: a guard's refusal is a
// *policies.RefusalError, an object that failed to apply a *clusters.ApplyError.
func TestResultErrIsTyped(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	s := reconciler.NewSyncer(t.TempDir())

	empty := fleetConfig(fleet, appRepo(t, ns, nil).FileURL(), config.AppSpec{Path: "app"}, ns)
	key := reconciler.AppCluster{App: &empty.Apps[0], Cluster: &empty.Clusters[0]}
	r := s.Reconcile(context.Background(), key, checkoutOf(t, s, empty), reconciler.Options{})
	var refusal *policies.RefusalError
	if r.Status != reconciler.StatusRefused || !errors.As(r.Err, &refusal) {
		t.Errorf("empty render: status %s, err %T %v; want Refused with a *policies.RefusalError", r.Status, r.Err, r.Err)
	}

	fleettest.Kubectl(t, c, "-n", ns, "create", "configmap", "taken")
	fleettest.Kubectl(t, c, "-n", ns, "label", "configmap", "taken", "flotilla.dev/app=another")
	taken := fleetConfig(fleet, appRepo(t, ns, map[string]string{"cm.yaml": configMap("taken", "1")}).FileURL(), config.AppSpec{Path: "app"}, ns)
	key = reconciler.AppCluster{App: &taken.Apps[0], Cluster: &taken.Clusters[0]}
	r = s.Reconcile(context.Background(), key, checkoutOf(t, s, taken), reconciler.Options{})
	var applyErr *clusters.ApplyError
	if r.Status != reconciler.StatusFailed || !errors.As(r.Err, &applyErr) || applyErr.ID.Name != "taken" {
		t.Errorf("object of another App: status %s, err %T %v; want Failed with its *clusters.ApplyError", r.Status, r.Err, r.Err)
	}
}

// TestOneReconcilePerPairAtATime: the observer hears of a result once the pair is free again,
// so it may reconcile the pair itself; a Reconcile that waits for a busy pair gives up with its
// context.
func TestOneReconcilePerPairAtATime(t *testing.T) {
	fleet := shared.Fleet(t)
	ns := fleettest.Namespace(t, fleet.Clusters[0])
	cfg := fleetConfig(fleet, appRepo(t, ns, map[string]string{"cm.yaml": configMap("settings", "1")}).FileURL(), config.AppSpec{Path: "app"}, ns)
	s := reconciler.NewSyncer(t.TempDir())
	checkout := checkoutOf(t, s, cfg)
	key := reconciler.AppCluster{App: &cfg.Apps[0], Cluster: &cfg.Clusters[0]}

	var mu sync.Mutex
	var stages []reconciler.Stage
	again := make(chan reconciler.Result, 1)
	observer := reconciler.ObserverFunc(func(e reconciler.Event) {
		mu.Lock()
		stages = append(stages, e.Stage)
		mu.Unlock()
		if e.Stage == reconciler.StageDone { // reconcile the pair from the done event: no deadlock
			again <- s.Reconcile(context.Background(), key, checkout, reconciler.Options{})
		}
	})
	done := make(chan reconciler.Result, 1)
	go func() {
		done <- s.Reconcile(context.Background(), key, checkout, reconciler.Options{Observer: observer})
	}()
	select {
	case r := <-done:
		if r.Status != reconciler.StatusSynced {
			t.Fatalf("first reconcile: %s %v", r.Status, r.Err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the reconcile did not finish: deadlock?")
	}
	if r := <-again; r.Status != reconciler.StatusSynced || r.Changes.Count(clusters.ActionUnchanged) != 1 {
		t.Errorf("reconcile from the observer: %s %+v", r.Status, r.Changes)
	}
	mu.Lock()
	if len(stages) < 2 || stages[0] != reconciler.StageApply || stages[len(stages)-1] != reconciler.StageDone {
		t.Errorf("stages told: %v, want apply first and done last", stages)
	}
	mu.Unlock()

	busy := make(chan struct{})
	release := make(chan struct{})
	holder := reconciler.ObserverFunc(func(e reconciler.Event) {
		if e.Stage == reconciler.StageApply {
			close(busy)
			<-release // hold the pair while applying
		}
	})
	held := make(chan reconciler.Result, 1)
	go func() { held <- s.Reconcile(context.Background(), key, checkout, reconciler.Options{Observer: holder}) }()
	<-busy
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	waited := s.Reconcile(ctx, key, checkout, reconciler.Options{})
	close(release)
	<-held
	if waited.Status != reconciler.StatusFailed || !errors.Is(waited.Err, context.DeadlineExceeded) {
		t.Errorf("a reconcile of a busy pair: %s %v; want Failed when its context ends", waited.Status, waited.Err)
	}
}

// TestInterruptedSyncsObjectsCanBePruned: the objects a reconcile is about to create are in the
// inventory before they exist, so a sync that created them and then died (here: its record
// fails, as if killed after the apply) leaves nothing that a later commit dropping them cannot
// prune.
func TestInterruptedSyncsObjectsCanBePruned(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	repo := appRepo(t, ns, map[string]string{"a.yaml": configMap("a", "1"), "b.yaml": configMap("b", "1")})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app", Sync: config.SyncPolicy{Prune: true}}, ns)
	key := reconciler.AppCluster{App: &cfg.Apps[0], Cluster: &cfg.Clusters[0]}
	dying := reconciler.NewSyncer(t.TempDir())
	dying.Recorder = failingRecorder{}
	if r := dying.Reconcile(context.Background(), key, checkoutOf(t, dying, cfg), reconciler.Options{}); r.Changes.Count(clusters.ActionCreated) != 2 {
		t.Fatalf("the interrupted sync: %s, %+v; want a and b created", r.Status, r.Changes)
	}
	inventory := fleettest.Kubectl(t, c, "-n", clusters.InventoryNamespace, "get", "configmap", "inventory-"+ns, "-o", "jsonpath={.data.inventory}")
	for _, name := range []string{`"name":"a"`, `"name":"b"`} {
		if !strings.Contains(inventory, name) {
			t.Fatalf("the inventory left by the interrupted sync lacks %s: %s", name, inventory)
		}
	}

	writeApp(t, repo, ns, map[string]string{"a.yaml": configMap("a", "1")})
	r := syncOne(t, reconciler.NewSyncer(t.TempDir()), cfg, reconciler.Options{Cluster: "dev"})
	if got := actions(r); got["ConfigMap/b"] != clusters.ActionPruned || got["ConfigMap/a"] != clusters.ActionUnchanged {
		t.Errorf("the next sync: %s %s, %v; want a unchanged and b pruned", r.Status, r.Error, got)
	}
	if names := fleettest.Kubectl(t, c, "-n", ns, "get", "configmaps", "-l", clusters.LabelApp, "-o", "jsonpath={.items[*].metadata.name}"); names != "a" {
		t.Errorf("configmaps left: %q, want a", names)
	}
}

// TestAppNamespaceHoldsObjectsThatNameNone: spec.namespace puts the App's namespaced objects
// that name no namespace there, not in "default"; one that names its own keeps it.
func TestAppNamespaceHoldsObjectsThatNameNone(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	other := fleettest.Namespace(t, c)
	repo := gittest.NewRepo(t, t.TempDir(), "fleet")
	repo.Write(map[string]string{
		"app/kustomization.yaml": "resources: [a.yaml, b.yaml]\n",
		"app/a.yaml":             configMap("a", "1"),
		"app/b.yaml":             strings.Replace(configMap("b", "1"), "{name: b}", "{name: b, namespace: "+other+"}", 1),
	})
	repo.Commit("no namespace in the kustomization")
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app", Namespace: ns}, ns)
	syncOK(t, reconciler.NewSyncer(t.TempDir()), cfg, reconciler.Options{Cluster: "dev"})
	fleettest.Kubectl(t, c, "-n", ns, "get", "configmap/a")
	fleettest.Kubectl(t, c, "-n", other, "get", "configmap/b")
	if _, err := fleettest.KubectlResult(c, "-n", "default", "get", "configmap/a"); err == nil {
		t.Error("configmap a landed in default")
	}
}
