package reconciler_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/reconciler"
)

// nightlyFreeze is a deny window from 22:00 to 06:00 in Berlin, and a clock inside it.
func nightlyFreeze(t *testing.T) ([]config.SyncWindow, func() time.Time) {
	t.Helper()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	night := time.Date(2026, 3, 29, 23, 0, 0, 0, berlin) // the night daylight saving starts
	return []config.SyncWindow{{Name: "night", Kind: config.WindowDeny, Schedule: "0 22 * * *",
		Duration: config.Duration{Duration: 8 * time.Hour}, TimeZone: "Europe/Berlin"}}, func() time.Time { return night }
}

// TestSyncWindowHoldsASyncUnlessOverridden: inside a deny window a sync applies nothing and
// says until when; --override-window syncs, and the ledger records the hold and the override.
func TestSyncWindowHoldsASyncUnlessOverridden(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	repo := appRepo(t, ns, map[string]string{"a.yaml": configMap("a", "1")})
	windows, clock := nightlyFreeze(t)
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app", Windows: windows}, ns)
	s, l := ledgerSyncer(t)
	s.Now = clock
	results, err := s.Sync(context.Background(), cfg, reconciler.Options{Cluster: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	r := results[0]
	if r.Status != reconciler.StatusHeld || !strings.Contains(r.Error, `held by window "night" until 2026-03-30T06:00:00+02:00`) {
		t.Fatalf("inside the window: %s %q; want Held until 06:00 CEST", r.Status, r.Error)
	}
	if _, err := fleettest.KubectlResult(c, "-n", ns, "get", "configmap/a"); err == nil {
		t.Fatal("a held sync applied configmap a")
	}
	if r := syncOK(t, s, cfg, reconciler.Options{Cluster: "dev", OverrideWindow: true})[0]; r.Status != reconciler.StatusSynced {
		t.Fatalf("override: %s %s", r.Status, r.Error)
	}
	if v := fleettest.Kubectl(t, c, "-n", ns, "get", "configmap/a", "-o", "jsonpath={.data.value}"); v != "1" {
		t.Errorf("after the override: value %q", v)
	}
	changes := changesOf(t, l, ns, "dev")
	if len(changes) != 2 || changes[0].Result != "Held" || changes[1].Result != "Synced" || !strings.Contains(changes[1].Reason, "sync window override") {
		t.Errorf("ledger: %+v", changes)
	}
}

// TestDryRunReportsTheSyncWindow: inside a deny window a dry run says the sync would be held
// (and until when), as the sync then does; with --override-window it plans what the sync with
// it then does. A diff shows the differences and says that a sync would be held. Dry runs and
// diffs are not recorded in the ledger.
func TestDryRunReportsTheSyncWindow(t *testing.T) {
	fleet := shared.Fleet(t)
	ns := fleettest.Namespace(t, fleet.Clusters[0])
	repo := appRepo(t, ns, map[string]string{"a.yaml": configMap("a", "1")})
	windows, clock := nightlyFreeze(t)
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app", Windows: windows}, ns)
	s, l := ledgerSyncer(t)
	s.Now = clock
	const held = `held by window "night" until 2026-03-30T06:00:00+02:00`
	dev := reconciler.Options{Cluster: "dev"}
	override := reconciler.Options{Cluster: "dev", OverrideWindow: true}
	dryRun := func(opts reconciler.Options) reconciler.Options { opts.DryRun = true; return opts }

	planned, synced := syncOne(t, s, cfg, dryRun(dev)), syncOne(t, s, cfg, dev)
	for name, r := range map[string]reconciler.Result{"dry run": planned, "sync": synced} {
		if r.Status != reconciler.StatusHeld || !strings.Contains(r.Error, held) || len(r.Changes) != 0 || r.Window == nil || r.Window.Allowed {
			t.Errorf("%s inside the window: %s %q, %d changes, window %+v; want Held (%s) and no changes", name, r.Status, r.Error, len(r.Changes), r.Window, held)
		}
	}
	diffed := diffOne(t, s, cfg)
	if got := diffActions(diffed); !strings.Contains(diffed.Held, held) || !cmp.Equal(got, map[string]clusters.Action{"ConfigMap/a": clusters.ActionCreated}) {
		t.Errorf("diff inside the window: held %q, objects %v; want ConfigMap/a created, and %s", diffed.Held, got, held)
	}

	planned = syncOne(t, s, cfg, dryRun(override))
	synced = syncOne(t, s, cfg, override)
	want := map[string]clusters.Action{"ConfigMap/a": clusters.ActionCreated}
	if planned.Status != reconciler.StatusPlanned || !cmp.Equal(actions(planned), want) {
		t.Errorf("dry run with --override-window: %s %q, %v; want Planned, %v", planned.Status, planned.Error, actions(planned), want)
	}
	if synced.Status != reconciler.StatusSynced || !cmp.Equal(actions(synced), want) {
		t.Errorf("sync with --override-window: %s %q, %v; want Synced, %v", synced.Status, synced.Error, actions(synced), want)
	}
	changes := changesOf(t, l, ns, "dev")
	if len(changes) != 2 || changes[0].Result != "Held" || changes[1].Result != "Synced" {
		t.Errorf("ledger: %+v; want the hold and the sync, no dry run", changes)
	}
}

// TestAgentHeldByAWindowStillReportsDrift: the agent does not sync an App a window holds, says
// so in its status, and reports drift (enforce mode or not) without healing it.
func TestAgentHeldByAWindowStillReportsDrift(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	repo := appRepo(t, ns, map[string]string{"a.yaml": configMap("a", "1")})
	windows, clock := nightlyFreeze(t)
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app", ClusterSelector: devOnly(),
		Sync: config.SyncPolicy{Automated: true}, Drift: config.DriftPolicy{Mode: config.DriftEnforce}}, ns)
	s, l := ledgerSyncer(t)
	// Synced first, outside the window; then the window closes over it.
	syncOK(t, s, cfg, reconciler.Options{Cluster: "dev"})
	cfg.Apps[0].Spec.Windows = windows
	s.Now = clock
	agent := runAgentOn(t, s, cfg, reconciler.DefaultAgentOptions())
	writeApp(t, repo, ns, map[string]string{"a.yaml": configMap("a", "2")})
	if err := agent.Refresh("fleet"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, func() bool {
		st := agent.Status()[0]
		return st.State == reconciler.StateHeld && st.WantedRevision == head(t, repo) && strings.Contains(st.LastError, `held by window "night"`)
	}, func() string { return states(agent) })
	fleettest.Kubectl(t, c, "-n", ns, "patch", "configmap/a", "--field-manager=hotfix", "--type=merge", "-p", `{"data":{"value":"9"}}`)
	waitFor(t, 10*time.Second, func() bool {
		st := agent.Status()[0]
		return len(st.Drifted) == 1 && st.Drifted[0].Manager == "hotfix"
	}, func() string { return "drift not reported while held: " + states(agent) })
	if v := fleettest.Kubectl(t, c, "-n", ns, "get", "configmap/a", "-o", "jsonpath={.data.value}"); v != "9" {
		t.Errorf("while held: value %q, want the drift (9) left alone and the commit (2) not applied", v)
	}
	held, err := l.List(context.Background(), history.Filter{App: ns})
	if err != nil || len(held) == 0 || held[0].Result != "Held" {
		t.Errorf("ledger: %+v, %v; want the hold recorded", held, err)
	}
}
