package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
)

// TestQuickstartThenChangeThroughGit walks the README's path: quickstart, change the example
// repository, diff, sync, diff again; an API server stops and quickstart brings it back; stop
// (the repository and its commit stay), quickstart again (the commit is synced again), purge.
// Quickstart runs the agent unless --no-agent: a push made as its printed steps say arrives.
func TestQuickstartThenChangeThroughGit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "qs")
	t.Cleanup(func() { flotilla(t, "fleet", "down", "--purge", "--dir", dir) })

	quickstartHealthy(t, dir)
	if got := kubectlCLI(t, filepath.Join(dir, "kubeconfig"), "local-3", "-n", "bookinfo", "get", "deployment/reviews-v1", "-o", "jsonpath={.status.availableReplicas}"); got != "3" {
		t.Errorf("prod reviews-v1 available replicas = %q, want 3", got)
	}
	changeThroughGit(t, dir)
	quickstartRunsTheAgent(t, dir)
	quickstartRestartsAStoppedCluster(t, dir)
	downKeepsTheRepository(t, dir)
	quickstartHealthy(t, dir)
	if got := stagingWeights(t, dir); got != "60 40 0" {
		t.Errorf("staging weights after a quickstart on the kept repository = %q, want 60 40 0 (the last commit)", got)
	}
	if origin, url := gitOutput(t, filepath.Join(dir, "fleet-repo"), "remote", "get-url", "origin"), readTrimmed(t, filepath.Join(dir, "git-url")); origin != url+"/fleet.git" {
		t.Errorf("the work tree pushes to %s, the Git server is at %s", origin, url)
	}

	purge := flotilla(t, "fleet", "down", "--purge", "--dir", dir)
	if purge.code != 0 {
		t.Fatalf("fleet down --purge: exit %d\n%s", purge.code, purge.stderr)
	}
	if procs := fleettest.Processes(dir); len(procs) > 0 {
		t.Errorf("processes left after fleet down --purge: %v", procs)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the folder is still there after fleet down --purge: %v", err)
	}
}

// quickstartHealthy runs quickstart and requires bookinfo healthy on all three clusters.
func quickstartHealthy(t *testing.T, dir string) cliResult {
	t.Helper()
	qs := flotilla(t, "quickstart", "--no-agent", "--dir", dir, "-o", "json")
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
	if strings.Contains(qs.stdout+qs.stderr, "example-only-not-a-secret") || strings.Contains(qs.stdout+qs.stderr, "ZXhhbXBsZS1vbmx5") {
		t.Errorf("quickstart's output shows the example Secret's value")
	}
	return qs
}

// changeThroughGit commits a canary change to the example repository, diffs, syncs and diffs
// again.
func changeThroughGit(t *testing.T, dir string) {
	t.Helper()
	work, config := filepath.Join(dir, "fleet-repo"), filepath.Join(dir, "flotilla.yaml")
	overlay := filepath.Join(work, "overlays", "staging", "kustomization.yaml")
	b, err := os.ReadFile(overlay)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(overlay, []byte(strings.NewReplacer("value: 90}", "value: 70}", "value: 10}", "value: 30}").Replace(string(b))), 0o644)
	gitOutput(t, work, "commit", "-qam", "staging: 30% canary")
	gitOutput(t, work, "push", "-q")

	diff := flotilla(t, "diff", "--config", config)
	if diff.code != 1 || !strings.Contains(diff.stdout, "-      weight: 90\n+      weight: 70") || !strings.Contains(diff.stdout, "# dev/bookinfo: no differences") {
		t.Fatalf("diff after a Git change: exit %d\n%s%s", diff.code, diff.stdout, diff.stderr)
	}
	sync := flotilla(t, "sync", "--config", config)
	if sync.code != 0 || !strings.Contains(sync.stdout, "Synced") {
		t.Fatalf("sync: exit %d\n%s%s", sync.code, sync.stdout, sync.stderr)
	}
	if got := stagingWeights(t, dir); got != "70 30 0" {
		t.Errorf("staging weights after sync = %q, want 70 30 0", got)
	}
	if again := flotilla(t, "diff", "--config", config); again.code != 0 {
		t.Errorf("diff after sync: exit %d\n%s", again.code, again.stdout)
	}
	for _, out := range []string{diff.stdout, diff.stderr, sync.stdout, sync.stderr} {
		if strings.Contains(out, "example-only-not-a-secret") || strings.Contains(out, "ZXhhbXBsZS1vbmx5") {
			t.Errorf("output shows the example Secret's value")
		}
	}
}

// quickstartRunsTheAgent: quickstart without --no-agent syncs, then runs the agent until
// Ctrl-C. A commit made as its printed steps say (with the git of a new machine, which knows no
// identity) and pushed arrives on staging, and flotilla status shows it there.
func quickstartRunsTheAgent(t *testing.T, dir string) {
	t.Helper()
	cmd := exec.Command(flotillaBin, "quickstart", "--dir", dir, "--listen", "127.0.0.1:0")
	log := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	fleettest.Eventually(t, 3*time.Minute, func() error {
		if !strings.Contains(log.String(), "agent started") {
			return fmt.Errorf("the agent has not started:\n%s", log.String())
		}
		return nil
	})
	if !strings.Contains(log.String(), "git -C "+filepath.Join(dir, "fleet-repo")+" push -q") || !strings.Contains(log.String(), "status") {
		t.Errorf("quickstart's next steps do not say to push and watch status:\n%s", log.String())
	}
	work := filepath.Join(dir, "fleet-repo")
	overlay := filepath.Join(work, "overlays", "staging", "kustomization.yaml")
	b, err := os.ReadFile(overlay)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(overlay, []byte(strings.NewReplacer("value: 70}", "value: 60}", "value: 30}", "value: 40}").Replace(string(b))), 0o644)
	for _, args := range [][]string{{"commit", "-qam", "staging: 40% canary"}, {"push", "-q"}} {
		git := exec.Command("git", append([]string{"-C", work}, args...)...) // no identity in the environment
		if out, err := git.CombinedOutput(); err != nil {
			t.Fatalf("git %v as the quickstart prints it: %v\n%s", args, err, out)
		}
	}
	commit := gitOutput(t, work, "rev-parse", "HEAD")
	fleettest.Eventually(t, time.Minute, func() error {
		if got := stagingWeights(t, dir); got != "60 40 0" {
			return fmt.Errorf("staging weights %q, want 60 40 0 from the pushed commit", got)
		}
		return nil
	})
	fleettest.Eventually(t, 30*time.Second, func() error {
		st := flotilla(t, "status", "-o", "json")
		if st.code != 0 || !strings.Contains(st.stdout, commit) {
			return fmt.Errorf("status (exit %d) does not show %s:\n%s%s", st.code, commit, st.stdout, st.stderr)
		}
		return nil
	})
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("quickstart's agent after Ctrl-C: %v\n%s", err, log.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("quickstart's agent still runs a minute after Ctrl-C")
	}
}

// quickstartRestartsAStoppedCluster: staging's API server is killed; status lists the Git
// server beside the clusters; quickstart restarts the API server and syncs, healthy again.
func quickstartRestartsAStoppedCluster(t *testing.T, dir string) {
	t.Helper()
	st := fleetStatus(t, dir)
	if len(st.Services) != 1 || st.Services[0].Name != "git" || !st.Services[0].Ready {
		t.Errorf("fleet status lists services %+v, want the Git server, ready", st.Services)
	}
	killPID(t, st.Clusters[1].Processes[0].PID, syscall.SIGKILL)
	fleettest.Eventually(t, time.Minute, func() error {
		if st := fleetStatus(t, dir); st.Clusters[1].Ready {
			return fmt.Errorf("%s still ready", st.Clusters[1].Name)
		}
		return nil
	})
	qs := quickstartHealthy(t, dir)
	if !strings.Contains(qs.stderr, "restarted what had stopped: local-2/kube-apiserver") {
		t.Errorf("quickstart does not say it restarted local-2's kube-apiserver:\n%s", qs.stderr)
	}
	if got := stagingWeights(t, dir); got != "60 40 0" {
		t.Errorf("staging weights after the restart = %q, want 60 40 0", got)
	}
}

// downKeepsTheRepository: fleet down stops everything and keeps the example repository with the
// user's commit, and nothing else.
func downKeepsTheRepository(t *testing.T, dir string) {
	t.Helper()
	down := flotilla(t, "fleet", "down", "--dir", dir)
	if down.code != 0 || !strings.Contains(down.stderr, "Kept the quickstart's example repository") || !strings.Contains(down.stderr, "fleet down --purge") {
		t.Fatalf("fleet down: exit %d\n%s", down.code, down.stderr)
	}
	if procs := fleettest.Processes(dir); len(procs) > 0 {
		t.Errorf("processes left after fleet down: %v", procs)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := ".flotilla-fleet fleet-repo git"; strings.Join(names, " ") != want {
		t.Errorf("after fleet down the folder holds %v, want %s", names, want)
	}
	if log := gitOutput(t, filepath.Join(dir, "git", "fleet.git"), "log", "--format=%s", "main"); !strings.Contains(log, "staging: 30% canary") {
		t.Errorf("the kept repository lost the commit; its log:\n%s", log)
	}
	if res := flotilla(t, "fleet", "status", "--dir", dir); res.code != 1 || !strings.Contains(res.stderr, "no fleet") {
		t.Errorf("fleet status after down: exit %d\n%s", res.code, res.stderr)
	}
}

func stagingWeights(t *testing.T, dir string) string {
	t.Helper()
	return kubectlCLI(t, filepath.Join(dir, "kubeconfig"), "local-2", "-n", "bookinfo", "get", "virtualservice/reviews", "-o", "jsonpath={.spec.http[0].route[*].weight}")
}

func gitOutput(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func readTrimmed(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
