//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/clusters/localfleet"
	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/sources/gittest"
)

// agentFleet is one local cluster for the agent tests of this package, started on first use.
var agentFleet = fleettest.Shared{Options: localfleet.Options{Clusters: 1, NamePrefix: "cli"}}

// TestAgentKilledMidSyncResumes: an agent killed with SIGKILL while it creates 200 objects, then
// started again, converges: every object exists once, the inventory lists each exactly once,
// the ledger shows the killed change as interrupted, and a commit that drops half of them
// prunes them (the interrupted sync's objects were recorded before they were created).
func TestAgentKilledMidSyncResumes(t *testing.T) {
	fleet := agentFleet.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	repo := gittest.NewRepo(t, t.TempDir(), "fleet")
	files := func(n int) map[string]string {
		var objects strings.Builder
		for i := range n {
			fmt.Fprintf(&objects, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%03d}\ndata: {i: \"%d\"}\n", i, i)
		}
		return map[string]string{"app/kustomization.yaml": "namespace: " + ns + "\nresources: [objects.yaml]\n", "app/objects.yaml": objects.String()}
	}
	repo.Write(files(200))
	repo.Commit("200 ConfigMaps")
	cfg := filepath.Join(t.TempDir(), "flotilla.yaml")
	writeOneClusterConfig(t, cfg, repo.FileURL(), "10s", fleet.Kubeconfig, c.Name, ns, "{automated: true, prune: true, maxPrunePercent: 100}")
	cache, state := t.TempDir(), t.TempDir()
	start := func() *exec.Cmd {
		cmd, _ := startAgent(t, "--config", cfg, "--cache-dir", cache, "--state", state, "--listen", "off")
		return cmd
	}
	client := fleettest.Client(t, c)
	count := func() int {
		list, err := client.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{LabelSelector: clusters.LabelApp})
		if err != nil {
			return -1
		}
		return len(list.Items)
	}
	waitCount := func(what string, done func(int) bool) {
		deadline := time.Now().Add(2 * time.Minute)
		for n := count(); !done(n); n = count() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d ConfigMaps after 2 minutes", what, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	first := start()
	waitCount("the first agent never started creating", func(n int) bool { return n > 0 })
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	killedAt := count()
	t.Logf("killed with %d of 200 ConfigMaps created", killedAt)

	start()
	waitCount("the restarted agent did not converge", func(n int) bool { return n == 200 })
	waitInventory(t, c, ns, 200)
	// The ledger shows the killed agent's change as interrupted, then the one that finished it.
	waitLedger(t, state, func(changes []history.Change) bool {
		return len(changes) == 2 && changes[1].Result == history.ResultInterrupted && changes[0].Result == "Synced" &&
			changes[0].Revision.Commit == changes[1].Revision.Commit
	})

	repo.Write(files(100))
	repo.Commit("drop half")
	waitCount("the dropped half was not pruned", func(n int) bool { return n == 100 })
	waitInventory(t, c, ns, 100)
}

// startAgent starts `flotilla agent args...`, its output in the returned buffer, and kills it
// (if it still runs) when the test ends.
func startAgent(t *testing.T, args ...string) (*exec.Cmd, *lockedBuffer) {
	t.Helper()
	cmd := exec.Command(flotillaBin, append([]string{"agent"}, args...)...)
	log := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, log
}

// valueRepo is a repository whose app/ holds ConfigMap a in namespace ns, and a function that
// commits a new value of it ("Value V") and returns the commit.
func valueRepo(t *testing.T, ns string) (*gittest.Repo, func(value string) string) {
	t.Helper()
	repo := gittest.NewRepo(t, t.TempDir(), "fleet")
	return repo, func(value string) string {
		repo.Write(map[string]string{
			"app/kustomization.yaml": "namespace: " + ns + "\nresources: [a.yaml]\n",
			"app/a.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {value: \"" + value + "\"}\n",
		})
		return repo.Commit("Value " + value)
	}
}

// writeOneClusterConfig writes a configuration of one Source (repoURL, polled every interval),
// the kubeconfig's context as cluster dev, and an App app of the Source's app/ folder with the
// sync policy given.
func writeOneClusterConfig(t *testing.T, path, repoURL, interval, kubeconfig, context, app, sync string) {
	t.Helper()
	writeFile(t, path, fmt.Sprintf(`apiVersion: flotilla.dev/v1alpha1
kind: Source
metadata: {name: fleet}
spec: {url: %q, ref: {branch: main}, interval: %s}
---
apiVersion: flotilla.dev/v1alpha1
kind: Cluster
metadata: {name: dev}
spec: {kubeconfig: %q, context: %q}
---
apiVersion: flotilla.dev/v1alpha1
kind: App
metadata: {name: %s}
spec: {source: fleet, path: app, sync: %s}
`, repoURL, interval, kubeconfig, context, app, sync))
}

// waitLedger waits until the changes in the state folder's ledger (newest first) are as ok
// says.
func waitLedger(t *testing.T, state string, ok func([]history.Change) bool) {
	t.Helper()
	l, err := history.Open(context.Background(), state)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var changes []history.Change
	for deadline := time.Now().Add(time.Minute); ; {
		if changes, err = l.List(context.Background(), history.Filter{}); err == nil && ok(changes) {
			return
		}
		if time.Now().After(deadline) {
			var got []string
			for _, c := range changes {
				got = append(got, fmt.Sprintf("%d %s %s %s", c.ID, c.Trigger, c.Result, c.Error))
			}
			t.Fatalf("the ledger holds:\n%s (%v)", strings.Join(got, "\n"), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitInventory waits until the App's inventory lists want objects, each once.
func waitInventory(t *testing.T, c *localfleet.Cluster, app string, want int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		out, _ := fleettest.KubectlResult(c, "-n", clusters.InventoryNamespace, "get", "configmap", "inventory-"+app, "-o", "jsonpath={.data.inventory}")
		var inv struct {
			Objects []struct{ Name string } `json:"objects"`
		}
		if json.Unmarshal([]byte(out), &inv) == nil && len(inv.Objects) == want {
			seen := map[string]bool{}
			for _, o := range inv.Objects {
				if seen[o.Name] {
					t.Fatalf("the inventory lists %s twice", o.Name)
				}
				seen[o.Name] = true
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the inventory does not list %d objects: %.300s", want, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
