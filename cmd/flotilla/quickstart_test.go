package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
)

// TestQuickstartThenChangeThroughGit walks the README's path: quickstart, change the example
// repository, diff, sync, diff again, stop.
func TestQuickstartThenChangeThroughGit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "qs")
	t.Cleanup(func() { flotilla(t, "fleet", "down", "--dir", dir) })

	qs := flotilla(t, "quickstart", "--dir", dir, "-o", "json")
	if qs.code != 0 {
		t.Fatalf("quickstart: exit %d\n%s", qs.code, qs.stderr)
	}
	var results []struct {
		Cluster, Status string
	}
	if err := json.Unmarshal([]byte(qs.stdout), &results); err != nil || len(results) != 3 {
		t.Fatalf("quickstart -o json: %v\n%s", err, qs.stdout)
	}
	for _, r := range results {
		if r.Status != "Healthy" {
			t.Errorf("%s: %s after quickstart", r.Cluster, r.Status)
		}
	}
	kubeconfig, config := filepath.Join(dir, "kubeconfig"), filepath.Join(dir, "flotilla.yaml")
	kubectl := func(context string, args ...string) string {
		out, err := exec.Command("kubectl", append([]string{"--kubeconfig", kubeconfig, "--context", context}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if got := kubectl("local-3", "-n", "bookinfo", "get", "deployment/reviews-v1", "-o", "jsonpath={.status.availableReplicas}"); got != "3" {
		t.Errorf("prod reviews-v1 available replicas = %q, want 3", got)
	}

	work := filepath.Join(dir, "fleet-repo")
	overlay := filepath.Join(work, "overlays", "staging", "kustomization.yaml")
	b, err := os.ReadFile(overlay)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(overlay, []byte(strings.NewReplacer("value: 90}", "value: 70}", "value: 10}", "value: 30}").Replace(string(b))), 0o644)
	for _, args := range [][]string{{"commit", "-qam", "staging: 30% canary"}, {"push", "-q"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}

	diff := flotilla(t, "diff", "--config", config)
	if diff.code != 1 || !strings.Contains(diff.stdout, "-      weight: 90\n+      weight: 70") || !strings.Contains(diff.stdout, "# dev/bookinfo: no differences") {
		t.Fatalf("diff after a Git change: exit %d\n%s%s", diff.code, diff.stdout, diff.stderr)
	}
	sync := flotilla(t, "sync", "--config", config)
	if sync.code != 0 || !strings.Contains(sync.stdout, "Synced") {
		t.Fatalf("sync: exit %d\n%s%s", sync.code, sync.stdout, sync.stderr)
	}
	if got := kubectl("local-2", "-n", "bookinfo", "get", "virtualservice/reviews", "-o", "jsonpath={.spec.http[0].route[*].weight}"); got != "70 30 0" {
		t.Errorf("staging weights after sync = %q, want 70 30 0", got)
	}
	if again := flotilla(t, "diff", "--config", config); again.code != 0 {
		t.Errorf("diff after sync: exit %d\n%s", again.code, again.stdout)
	}
	for _, out := range []string{qs.stdout, qs.stderr, diff.stdout, diff.stderr, sync.stdout, sync.stderr} {
		if strings.Contains(out, "example-only-not-a-secret") || strings.Contains(out, "ZXhhbXBsZS1vbmx5") {
			t.Errorf("output shows the example Secret's value")
		}
	}

	if down := flotilla(t, "fleet", "down", "--dir", dir); down.code != 0 {
		t.Fatalf("fleet down: exit %d\n%s", down.code, down.stderr)
	}
	if procs := fleettest.Processes(dir); len(procs) > 0 {
		t.Errorf("processes left after fleet down: %v", procs)
	}
}
