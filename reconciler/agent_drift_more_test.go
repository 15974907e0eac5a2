package reconciler_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/reconciler"
)

// driftedObject reports whether the pair's status lists the object as drifted (deleted or not).
func driftedObject(agent *reconciler.Agent, name string, deleted bool) bool {
	for _, st := range agent.Status() {
		for _, d := range st.Drifted {
			if d.ID.Name == name && d.Deleted == deleted {
				return true
			}
		}
	}
	return false
}

// TestAgentWatchesAnAppThatOnlyCompares: an App that does not sync on its own, synced before
// the agent started, is watched all the same: the agent's dry runs record nothing, so it
// watches the inventory the cluster holds, and drift is reported.
func TestAgentWatchesAnAppThatOnlyCompares(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	cfg := fleetConfig(fleet, appRepo(t, ns, map[string]string{"a.yaml": configMap("a", "1")}).FileURL(), config.AppSpec{Path: "app", ClusterSelector: devOnly(),
		Drift: config.DriftPolicy{Mode: config.DriftWarn}}, ns)
	syncOK(t, reconciler.NewSyncer(t.TempDir()), cfg, reconciler.Options{Cluster: "dev"}) // before the agent (re)starts
	agent := runAgent(t, cfg)
	waitFor(t, time.Minute, func() bool {
		return agent.Ready() && allIn(agent, reconciler.StateSynced, agent.Status()[0].WantedRevision) && agent.ManagedObjects()["dev"] > 0
	}, func() string { return "not watched: " + states(agent) })
	fleettest.Kubectl(t, c, "-n", ns, "patch", "configmap/a", "--field-manager=hotfix", "--type=merge", "-p", `{"data":{"value":"9"}}`)
	waitFor(t, 10*time.Second, func() bool { return driftedObject(agent, "a", false) }, func() string { return "drift not reported: " + states(agent) })
}

// TestAgentDeletionDuringAReconcileIsNotLost: an object deleted while its pair is being
// reconciled (whose own prunes come back as deletions) is handled once the reconcile is done,
// as it did not prune it: reported, here, where the App's drift mode warns.
func TestAgentDeletionDuringAReconcileIsNotLost(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	cfg := fleetConfig(fleet, appRepo(t, ns, map[string]string{"a.yaml": configMap("a", "1"), "b.yaml": configMap("b", "1")}).FileURL(),
		config.AppSpec{Path: "app", ClusterSelector: devOnly(), Sync: config.SyncPolicy{Automated: true}, Drift: config.DriftPolicy{Mode: config.DriftWarn}}, ns)
	var block atomic.Bool
	busy, release := make(chan struct{}), make(chan struct{})
	opts := reconciler.DefaultAgentOptions()
	opts.Observer = reconciler.ObserverFunc(func(e reconciler.Event) {
		if e.Stage == reconciler.StageDone && e.Result != nil && e.Result.App == ns && block.CompareAndSwap(true, false) {
			close(busy)
			<-release // the pair stays busy meanwhile
		}
	})
	seenB := make(chan struct{})
	var once atomic.Bool
	opts.OnDrift = func(ev clusters.DriftEvent, _ string) {
		if ev.ID.Name == "b" && once.CompareAndSwap(false, true) {
			close(seenB)
		}
	}
	agent := runAgentWith(t, cfg, opts)
	waitFor(t, time.Minute, func() bool { return agent.Ready() }, func() string { return states(agent) })

	block.Store(true)
	if _, err := agent.RequestSync(ns, "dev", reconciler.Options{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-busy:
	case <-time.After(30 * time.Second):
		t.Fatal("the requested sync did not run")
	}
	fleettest.Kubectl(t, c, "-n", ns, "delete", "configmap/a")
	// Events of one resource arrive in order: once b's change is seen, a's deletion was.
	fleettest.Kubectl(t, c, "-n", ns, "patch", "configmap/b", "--field-manager=hotfix", "--type=merge", "-p", `{"data":{"value":"9"}}`)
	select {
	case <-seenB:
	case <-time.After(20 * time.Second):
		close(release)
		t.Fatal("the change of b was not seen")
	}
	close(release)
	waitFor(t, 10*time.Second, func() bool { return driftedObject(agent, "a", true) }, func() string {
		return "the deletion seen during the reconcile is lost: " + states(agent)
	})
}

// TestAgentCountsDriftOfEveryMode: OnDrift (the drift metric) is told of drift in an App whose
// drift mode is ignore too, and the change is left alone.
func TestAgentCountsDriftOfEveryMode(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	cfg := fleetConfig(fleet, appRepo(t, ns, map[string]string{"a.yaml": configMap("a", "1")}).FileURL(), config.AppSpec{Path: "app", ClusterSelector: devOnly(),
		Sync: config.SyncPolicy{Automated: true}, Drift: config.DriftPolicy{Mode: config.DriftIgnore}}, ns)
	told := make(chan string, 16)
	opts := reconciler.DefaultAgentOptions()
	opts.OnDrift = func(ev clusters.DriftEvent, mode string) {
		if ev.ID.Name == "a" {
			told <- mode + " " + ev.Manager
		}
	}
	agent := runAgentWith(t, cfg, opts)
	waitFor(t, time.Minute, func() bool { return agent.Ready() }, func() string { return states(agent) })
	fleettest.Kubectl(t, c, "-n", ns, "patch", "configmap/a", "--field-manager=hotfix", "--type=merge", "-p", `{"data":{"value":"9"}}`)
	select {
	case got := <-told:
		if got != "ignore hotfix" {
			t.Errorf("OnDrift told %q, want %q", got, "ignore hotfix")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("drift of an App whose drift mode is ignore was not counted")
	}
	if v := fleettest.Kubectl(t, c, "-n", ns, "get", "configmap/a", "-o", "jsonpath={.data.value}"); v != "9" {
		t.Errorf("drift.mode ignore: value %q, want the hotfix's 9", v)
	}
}

// TestAgentLeavesIgnoredFieldsAlone: with drift.mode enforce, the agent takes back a field
// someone changed, but not one an App's drift.ignore rule covers, nor one a manager of its
// drift.ignoreManagers set, even when it reconciles the object for another reason.
func TestAgentLeavesIgnoredFieldsAlone(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	twoKeys := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {value: \"1\", other: \"1\"}\n"
	cfg := fleetConfig(fleet, appRepo(t, ns, map[string]string{"a.yaml": twoKeys, "b.yaml": configMap("b", "1")}).FileURL(), config.AppSpec{Path: "app", ClusterSelector: devOnly(),
		Sync: config.SyncPolicy{Automated: true}, Drift: config.DriftPolicy{Mode: config.DriftEnforce, IgnoreManagers: []string{"autoscaler"},
			Ignore: []config.IgnoreRule{{Kind: "ConfigMap", Name: "a", Fields: []string{"/data/value"}}}}}, ns)
	agent := runAgent(t, cfg)
	waitFor(t, time.Minute, func() bool { return agent.Ready() }, func() string { return states(agent) })
	get := func(object, path string) string {
		v, _ := fleettest.KubectlResult(c, "-n", ns, "get", object, "-o", "jsonpath="+path)
		return v
	}
	fleettest.Kubectl(t, c, "-n", ns, "patch", "configmap/a", "--field-manager=hotfix", "--type=merge", "-p", `{"data":{"value":"9"}}`)
	fleettest.Kubectl(t, c, "-n", ns, "patch", "configmap/a", "--field-manager=autoscaler", "--type=merge", "-p", `{"data":{"other":"9"}}`)
	// A field no rule covers is taken back: the agent heals, and reconciles a with it.
	fleettest.Kubectl(t, c, "-n", ns, "patch", "configmap/b", "--field-manager=hotfix", "--type=merge", "-p", `{"data":{"value":"9"}}`)
	waitFor(t, 10*time.Second, func() bool { return get("configmap/b", "{.data.value}") == "1" }, func() string { return "b not taken back: " + states(agent) })
	// And once more, through a requested sync of the pair.
	before := agent.Status()[0].LastSync
	if _, err := agent.RequestSync(ns, "dev", reconciler.Options{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { return agent.Status()[0].LastSync.After(before) }, func() string { return "no sync: " + states(agent) })
	if st := agent.Status()[0]; st.State != reconciler.StateSynced {
		t.Errorf("after the sync: %s (%s), want Synced", st.State, st.LastError)
	}
	if got := get("configmap/a", "{.data.value}/{.data.other}"); got != "9/9" {
		t.Errorf("configmap a: value/other = %q, want 9/9: the ignore rule's field and the ignored manager's left alone", got)
	}
}
