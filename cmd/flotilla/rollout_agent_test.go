//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/reconciler"
)

// TestRolloutCommandsThroughTheAgent: with a one-wave rollout whose bake is an hour, `flotilla
// rollout status` shows the wave baking the commit; `promote` ends the bake; a second commit,
// `abort` then `resume`, each answered by the agent and shown; a rollout command without an
// agent says so.
func TestRolloutCommandsThroughTheAgent(t *testing.T) {
	fleet := agentFleet.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	repo, commit := valueRepo(t, ns)
	first := commit("1")
	cfg := filepath.Join(t.TempDir(), "flotilla.yaml")
	writeOneClusterConfig(t, cfg, repo.FileURL(), "1h", fleet.Kubeconfig, c.Name, ns,
		"{automated: true}, rollout: {waves: [{name: canary, bakeTime: 1h}]}")
	state := t.TempDir()
	_, log := startAgent(t, "--config", cfg, "--cache-dir", t.TempDir(), "--state", state, "--listen", "127.0.0.1:0")
	waitForLog(t, log, "agent started", 1)

	try := func(verb string) (reconciler.RolloutStatus, error) {
		res := flotilla(t, "rollout", verb, ns, "--state", state, "-o", "json")
		var st reconciler.RolloutStatus
		if res.code != 0 || json.Unmarshal([]byte(res.stdout), &st) != nil {
			return st, fmt.Errorf("rollout %s: exit %d\n%s%s\n%s", verb, res.code, res.stdout, res.stderr, log)
		}
		return st, nil
	}
	rollout := func(verb string) reconciler.RolloutStatus {
		t.Helper()
		st, err := try(verb)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	fleettest.Eventually(t, time.Minute, func() error {
		st, err := try("status")
		if err == nil && (st.State.Target != first || st.State.BakeStart.IsZero()) {
			err = fmt.Errorf("not baking %s: %+v", first, st)
		}
		return err
	})
	table := flotilla(t, "rollout", "status", ns, "--state", state)
	if !strings.Contains(squeeze(table.stdout), "canary (current) dev "+first[:12]) {
		t.Errorf("rollout status table:\n%s", table.stdout)
	}
	if st := rollout("promote"); !st.Done {
		t.Errorf("after promote: %+v; want the rollout done", st)
	}
	second := commit("2")
	refresh(t, agentURL(t, state), filepath.Join(state, "token"))
	fleettest.Eventually(t, time.Minute, func() error {
		st, err := try("status")
		if err == nil && st.State.Target != second {
			err = fmt.Errorf("not rolling out %s: %+v", second, st)
		}
		return err
	})
	if st := rollout("abort"); !st.State.Aborted {
		t.Errorf("after abort: %+v", st)
	}
	if st := rollout("resume"); st.State.Aborted {
		t.Errorf("after resume: %+v", st)
	}
	none := flotilla(t, "rollout", "status", ns, "--state", t.TempDir())
	if none.code == 0 || !strings.Contains(none.stderr, "no agent is running") {
		t.Errorf("without an agent: exit %d, %s", none.code, none.stderr)
	}
}
