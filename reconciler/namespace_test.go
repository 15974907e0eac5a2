package reconciler_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/reconciler"
)

// progressLines is a Progress writer that tells when a line containing a given text arrives.
type progressLines struct {
	mu    sync.Mutex
	text  strings.Builder
	match string
	seen  chan struct{}
	once  sync.Once
}

func (p *progressLines) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.text.Write(b)
	if strings.Contains(p.text.String(), p.match) {
		p.once.Do(func() { close(p.seen) })
	}
	return len(b), nil
}

// TestTerminatingNamespaceIsWaitedFor: the App's Namespace, deleted by someone and still
// terminating (held by a finalizer on an object in it), is waited for, said so in the
// progress, and created again once it is gone, with the App's objects in it.
func TestTerminatingNamespaceIsWaitedFor(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c) + "-again"
	t.Cleanup(func() { _, _ = fleettest.KubectlResult(c, "delete", "namespace", ns, "--wait=false") })
	repo := appRepo(t, ns, map[string]string{"ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + ns + "}\n", "a.yaml": configMap("a", "1")})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app"}, ns)
	s := reconciler.NewSyncer(t.TempDir())
	syncOK(t, s, cfg, reconciler.Options{Cluster: "dev"})
	// Someone deletes the Namespace; an object with a finalizer keeps it terminating.
	fleettest.Kubectl(t, c, "-n", ns, "create", "configmap", "hold")
	fleettest.Kubectl(t, c, "-n", ns, "patch", "configmap", "hold", "--type=merge", "-p", `{"metadata":{"finalizers":["flotilla.dev/test-hold"]}}`)
	fleettest.Kubectl(t, c, "delete", "namespace", ns, "--wait=false")

	progress := &progressLines{match: "Namespace/" + ns + " is terminating; waiting until it is gone", seen: make(chan struct{})}
	done := make(chan []reconciler.Result, 1)
	go func() {
		results, err := s.Sync(context.Background(), cfg, reconciler.Options{Cluster: "dev", Observer: reconciler.ProgressLines(progress)})
		if err != nil {
			t.Error(err)
		}
		done <- results
	}()
	select {
	case <-progress.seen:
	case results := <-done:
		t.Fatalf("the sync ended without waiting for the terminating Namespace: %+v", results)
	case <-time.After(time.Minute):
		t.Fatal("no progress line about the terminating Namespace within a minute")
	}
	fleettest.Kubectl(t, c, "-n", ns, "patch", "configmap", "hold", "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
	results := <-done
	if len(results) != 1 || results[0].Status != reconciler.StatusSynced || results[0].Changes.Count(clusters.ActionCreated) != 2 {
		t.Fatalf("after the Namespace was gone: %+v; want Synced with the Namespace and a created", results)
	}
	if got := fleettest.Kubectl(t, c, "get", "namespace", ns, "-o", "jsonpath={.status.phase} {.metadata.deletionTimestamp}"); got != "Active " {
		t.Errorf("namespace phase and deletion = %q, want an Active namespace that is not being deleted", got)
	}
	if got := fleettest.Kubectl(t, c, "-n", ns, "get", "configmap", "a", "-o", "jsonpath={.data.value}"); got != "1" {
		t.Errorf("configmap a = %q, want 1", got)
	}
}
