package reconciler_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/reconciler"
)

// TestAgentRollbackStaysPinnedThroughPollsAndDriftHeals: with sync.automated on, a rollback
// holds through polls of the same head and drift heals (which heal toward the pinned revision),
// until a newer commit arrives; the ledger shows the drift heal naming the manager that
// drifted, and the unpin.
func TestAgentRollbackStaysPinnedThroughPollsAndDriftHeals(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	repo := appRepo(t, ns, map[string]string{"a.yaml": configMap("a", "1")})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app", ClusterSelector: devOnly(),
		Sync: config.SyncPolicy{Automated: true, Prune: true}, Drift: config.DriftPolicy{Mode: config.DriftEnforce}}, ns)
	cfg.Sources[0].Spec.Interval = config.Duration{Duration: time.Hour}
	s, l := ledgerSyncer(t)
	agent := runAgentOn(t, s, cfg, reconciler.DefaultAgentOptions())
	first := head(t, repo)
	waitFor(t, time.Minute, func() bool { return allIn(agent, reconciler.StateSynced, first) }, func() string { return states(agent) })
	value := func() string {
		v, _ := fleettest.KubectlResult(c, "-n", ns, "get", "configmap/a", "-o", "jsonpath={.data.value}")
		return v
	}
	writeApp(t, repo, ns, map[string]string{"a.yaml": configMap("a", "2")})
	second := head(t, repo)
	if err := agent.Refresh("fleet"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { return value() == "2" && allIn(agent, reconciler.StateSynced, second) }, func() string { return states(agent) })

	results, err := agent.Rollback(context.Background(), ns, "", reconciler.RollbackOptions{Steps: 1, Reason: "2 is wrong", Actor: history.Actor{Token: "oncall"}})
	if err != nil || len(results) != 1 || results[0].Pinned == nil || results[0].Commit != first {
		t.Fatalf("rollback: %+v, %v", results, err)
	}
	if v := value(); v != "1" {
		t.Fatalf("after the rollback: value %q, want 1", v)
	}
	st := agent.Status()[0]
	if st.Pinned == nil || st.Pinned.Head != second || st.AppliedRevision != first || st.WantedRevision != second {
		t.Errorf("status after the rollback: pinned %+v, applied %s, wanted %s", st.Pinned, st.AppliedRevision, st.WantedRevision)
	}

	// A poll of the same head keeps the rollback.
	if err := agent.Refresh("fleet"); err != nil {
		t.Fatal(err)
	}
	asked := time.Now()
	if _, err := agent.RequestSync(ns, "", reconciler.Options{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool {
		changes, _ := l.List(context.Background(), history.Filter{App: ns, Trigger: history.TriggerManual, Limit: 1})
		return len(changes) == 1 && changes[0].Started.After(asked) && changes[0].Result != history.ResultRunning
	}, func() string { return "the requested sync was not recorded" })
	if v := value(); v != "1" {
		t.Errorf("after a sync of the same head while pinned: value %q, want 1", v)
	}
	// A drift heal heals toward the pinned revision, and is recorded naming the manager.
	fleettest.Kubectl(t, c, "-n", ns, "patch", "configmap/a", "--field-manager=hotfix", "--type=merge", "-p", `{"data":{"value":"9"}}`)
	waitFor(t, 10*time.Second, func() bool { return value() == "1" }, func() string { return "not healed to the pinned value: " + value() })
	var heal *history.Change
	waitFor(t, 10*time.Second, func() bool {
		changes, _ := l.List(context.Background(), history.Filter{App: ns, Trigger: history.TriggerDrift})
		if len(changes) > 0 && changes[0].Result != history.ResultRunning {
			heal = &changes[0]
		}
		return heal != nil
	}, func() string { return "no drift heal in the ledger" })
	if len(heal.Drift) == 0 || !strings.Contains(heal.Drift[0], "hotfix") || heal.Revision.Commit != first || heal.Writes() != 1 {
		t.Errorf("drift heal: drift %v, commit %s (want %s), %d writes", heal.Drift, heal.Revision.Commit, first, heal.Writes())
	}

	// A newer commit lifts the pin.
	writeApp(t, repo, ns, map[string]string{"a.yaml": configMap("a", "3")})
	if err := agent.Refresh("fleet"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { return value() == "3" }, func() string { return states(agent) })
	waitFor(t, 10*time.Second, func() bool { return agent.Status()[0].Pinned == nil }, func() string { return "still pinned" })
	unpins, err := l.List(context.Background(), history.Filter{App: ns, Trigger: history.TriggerUnpin})
	if err != nil || len(unpins) != 1 {
		t.Errorf("unpin changes: %+v, %v", unpins, err)
	}
	webhookOrPoll, _ := l.List(context.Background(), history.Filter{App: ns, Trigger: history.TriggerPoll})
	if len(webhookOrPoll) < 2 || webhookOrPoll[0].Revision.Commit != head(t, repo) || !webhookOrPoll[0].Actor.Agent {
		t.Errorf("poll changes: %+v", webhookOrPoll)
	}
}
