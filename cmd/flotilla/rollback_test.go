package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/server"
)

// TestRollbackAndUnpinFlags: flags that do not say one App, one cluster or all, and one place
// to go back to, are refused before anything is asked or opened, each saying what to give.
func TestRollbackAndUnpinFlags(t *testing.T) {
	state := t.TempDir()
	for _, tt := range []struct{ args, want string }{
		{"rollback --all --steps 1", "--app is required: the App to roll back"},
		{"rollback --app shop --steps 1", "say where to roll back: --cluster C (one cluster) or --all (every cluster the App selects)"},
		{"rollback --app shop --cluster dev --all --steps 1", "give --cluster or --all, not both"},
		{"rollback --app shop --all", "say where to roll back to: --to REVISION (a commit the ledger recorded, or its first digits; flotilla history --app shop lists them) or --steps N"},
		{"rollback --app shop --all --to 3f2a9c1 --steps 1", "give --to or --steps, not both"},
		{"rollback --app shop --all --steps 0", "--steps 0: want 1 or more"},
		{"rollback --app shop --all --steps -2", "--steps -2: want 1 or more"},
		{"rollback --app shop --all --to main", `--to: "main" is not a commit: want 4 to 64 hex digits`},
		{"rollback --app shop --all --to 3f2", `--to: "3f2" is not a commit`},
		{"rollback --app shop --all --steps 1 --reason " + strings.Repeat("x", server.MaxReasonLength+1), "--reason: 1001 bytes long; at most 1000"},
		{"rollback --app shop --all --steps 1 --direct --server http://127.0.0.1:1", "--direct works from this process, --server asks an agent: give one of them"},
		{"rollback --app shop --all --steps 1 --server http://127.0.0.1:1", "--server needs --token-file"},
		{"rollback --app shop --all --steps 1 -o wide", `--output "wide" is not one of table, json, yaml`},
		{"unpin --cluster dev", "--app is required: the App to unpin"},
		{"unpin --app shop", "say where to unpin: --cluster C (one cluster) or --all"},
		{"unpin --app shop --cluster dev --all", "give --cluster or --all, not both"},
		{"unpin --app shop --all --direct --server http://127.0.0.1:1", "--direct works from this process"},
	} {
		res := flotilla(t, append(strings.Fields(tt.args), "--state", state, "--config", filepath.Join(state, "none.yaml"))...)
		if res.code != 1 || !strings.Contains(res.stderr, tt.want) || res.stdout != "" {
			t.Errorf("flotilla %.80s: exit %d, stderr %q; want exit 1 and %q", tt.args, res.code, res.stderr, tt.want)
		}
	}
	if files, _ := os.ReadDir(state); len(files) != 0 {
		t.Errorf("refused flags wrote to the state folder: %v", files)
	}
}

// TestRollbackDirectChecksTheLedgerFirst: without an agent, a rollback whose revision the state
// folder's ledger does not hold on a cluster rolls back nothing (no cluster is reached: their
// kubeconfig does not exist), and says which cluster lacks what; unknown names are refused;
// unpin says "not pinned".
func TestRollbackDirectChecksTheLedgerFirst(t *testing.T) {
	cfg, _ := errorsFleet(t, "fleet.git", "{branch: main}")
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, cfg, string(text)+`---
apiVersion: flotilla.dev/v1alpha1
kind: App
metadata: {name: web}
spec: {source: fleet, path: overlays/dev, clusterSelector: {matchLabels: {env: prod}}}
`)
	state := t.TempDir()
	ctx := context.Background()
	ledger, err := history.Open(ctx, state)
	if err != nil {
		t.Fatal(err)
	}
	for _, commit := range []string{"aaaa1111", "bbbb2222"} {
		c := history.Change{App: "settings", Cluster: "dev-1", Trigger: history.TriggerPoll, Result: "Healthy", Snapshot: "s-" + commit, Digest: "d-" + commit,
			Revision: history.Revision{Commit: commit}}
		if err := ledger.Record(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	ledger.Close()
	for _, tt := range []struct{ args, want string }{
		{"rollback --app settings --all --steps 1", "nothing rolled back: App settings on cluster dev-2: the ledger holds no applied revision to roll back to"},
		{"rollback --app settings --cluster dev-1 --steps 2", "nothing rolled back: App settings on cluster dev-1: the ledger holds 1 revision before the current one, not 2"},
		{"rollback --app settings --cluster dev-1 --to cccc", "the ledger holds no applied revision cccc (flotilla history --app settings --cluster dev-1 lists them)"},
		{"rollback --app settings --cluster prod --steps 1", `Cluster "prod" is not defined in ` + cfg},
		{"rollback --app web --cluster dev-1 --steps 1", `App "web" selects no cluster in ` + cfg},
		{"rollback --app nginx --cluster dev-1 --steps 1", `App "nginx" is not defined in ` + cfg},
		{"unpin --app settings --all", "not pinned: App settings is not pinned on any cluster"},
		{"unpin --app settings --cluster dev-1", "not pinned: App settings is not pinned on cluster dev-1"},
	} {
		res := flotilla(t, append(strings.Fields(tt.args), "--direct", "--state", state, "--config", cfg)...)
		if res.code != 1 || !strings.Contains(res.stderr, tt.want) || strings.Contains(res.stderr, "restoring") {
			t.Errorf("flotilla %s: exit %d, stderr %q; want exit 1 and %q, before any restore", tt.args, res.code, res.stderr, tt.want)
		}
	}
	if res := flotilla(t, "history", "--state", state, "-o", "json"); len(changeIDs(t, res)) != 2 {
		t.Errorf("refused rollbacks were recorded:\n%s", res.stdout)
	}
}

// TestPrintRollbackAndPinnedStatus: the rollback's table, with how each pin lifts, and a
// pinned pair in the status table.
func TestPrintRollbackAndPinnedStatus(t *testing.T) {
	pin := &server.Pin{Revision: "aaaa1111ffff", Subject: "Shop: one replica", Change: 12, Until: "cccc3333ffff"}
	done := server.RollbackDone{App: "shop", Results: []server.RollbackResult{
		{Cluster: "dev", Status: "Healthy", Revision: "aaaa1111ffff", Change: 12, Pinned: pin},
		{Cluster: "prod", Status: "Failed", Revision: "aaaa1111ffff", Change: 13, Error: "apply: refused\nsecond line"},
		{Cluster: "stage", Status: "Healthy", Revision: "aaaa1111ffff", Change: 14, Pinned: pin},
	}}
	var b bytes.Buffer
	printRollback(&b, done)
	for _, want := range []string{
		"CLUSTER RESULT RESTORED CHANGE PINNED UNTIL ERROR",
		"dev Healthy aaaa1111 Shop: one replica 12 cccc3333\n",
		"prod Failed aaaa1111 13 - apply: refused …",
		"prod: apply: refused\nsecond line",
		"App/shop on clusters dev, stage stay on aaaa1111 until a commit other than cccc3333 arrives; flotilla unpin --app shop --cluster C (for each) to follow Git now",
	} {
		if !strings.Contains(squeeze(b.String()), want) {
			t.Errorf("rollback table lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	printRollback(&b, server.RollbackDone{App: "shop", Results: done.Results[:1]})
	if want := "App/shop on cluster dev stays on aaaa1111 until a commit other than cccc3333 arrives; flotilla unpin --app shop --cluster dev to follow Git now"; !strings.Contains(b.String(), want) {
		t.Errorf("one cluster's rollback: want %q:\n%s", want, b.String())
	}

	b.Reset()
	printStatus(&b, []server.AppStatus{{Name: "shop", Clusters: []server.ClusterStatus{
		{Cluster: "dev", State: server.StateSynced, WantedRevision: "cccc3333ffff", AppliedRevision: "aaaa1111ffff", Pinned: pin},
		{Cluster: "prod", State: server.StateSynced, Health: "Healthy", WantedRevision: "cccc3333ffff", AppliedRevision: "cccc3333ffff"},
	}}})
	for _, want := range []string{
		"APP CLUSTER STATE HEALTH WANTED APPLIED PINNED LAST SYNC WRITES DRIFTED ERROR",
		"shop dev Synced - cccc3333ffff aaaa1111ffff aaaa1111ffff - 0 0\n",
		"shop prod Synced Healthy cccc3333ffff cccc3333ffff - - 0 0\n",
		"App/shop on cluster dev is pinned on aaaa1111ffff, rolled back by change 12, until a commit other than cccc3333ffff arrives (flotilla unpin --app shop --cluster dev to follow Git now)",
	} {
		if !strings.Contains(squeeze(b.String()), want) {
			t.Errorf("status table lacks %q:\n%s", want, b.String())
		}
	}
}

// TestFleetGrid: flotilla status prints a row per App and a column per cluster, "-" where the
// App does not select the cluster, then the pins and errors.
func TestFleetGrid(t *testing.T) {
	pin := &server.Pin{Revision: "aaaa1111ffff", Change: 12, Until: "cccc3333ffff"}
	var b strings.Builder
	printFleetGrid(&b, []server.AppStatus{
		{Name: "shop", Clusters: []server.ClusterStatus{
			{Cluster: "dev", State: server.StateSynced, AppliedRevision: "aaaa1111ffff", Pinned: pin},
			{Cluster: "prod", State: server.StateSynced, Health: "Healthy", AppliedRevision: "cccc3333ffff"},
		}},
		{Name: "mesh", Clusters: []server.ClusterStatus{
			{Cluster: "prod", State: server.StateFailed, Health: "Unknown", LastError: "apply ConfigMap/x: denied\nmore"},
		}},
	})
	want := `APP DEV PROD
shop Synced aaaa1111ffff (pinned) Synced Healthy cccc3333ffff
mesh - Failed -

App/shop on cluster dev is pinned on aaaa1111ffff, rolled back by change 12, until a commit other than cccc3333ffff arrives (flotilla unpin --app shop --cluster dev to follow Git now)
App/mesh on cluster prod: apply ConfigMap/x: denied …
`
	if diff := cmp.Diff(want, squeeze(b.String())); diff != "" {
		t.Errorf("fleet grid (-want +got):\n%s", diff)
	}
}

// squeeze turns each run of spaces into one, and drops those at the end of a line.
func squeeze(s string) string {
	lines := strings.Split(s, "\n")
	for i, line := range lines {
		lines[i] = strings.Join(strings.Fields(line), " ")
	}
	return strings.Join(lines, "\n")
}

// TestStartedSince: the sync asked of the agent is the first reconcile that started at or after
// the agent accepted the request; one under way then, ending later, is not it.
func TestStartedSince(t *testing.T) {
	accepted := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		status   server.ClusterStatus
		accepted time.Time
		want     bool
	}{
		{"started after", server.ClusterStatus{LastStarted: accepted.Add(time.Millisecond), LastSync: accepted.Add(2 * time.Second)}, accepted, true},
		{"started at once", server.ClusterStatus{LastStarted: accepted, LastSync: accepted}, accepted, true},
		{"under way when accepted", server.ClusterStatus{LastStarted: accepted.Add(-time.Second), LastSync: accepted.Add(time.Second)}, accepted, false},
		{"never synced", server.ClusterStatus{}, accepted, false},
		{"an agent that does not say when it accepted", server.ClusterStatus{LastSync: accepted.Add(time.Second)}, time.Time{}, true},
	}
	for _, tt := range tests {
		if got := startedSince(tt.status, tt.accepted, accepted); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
