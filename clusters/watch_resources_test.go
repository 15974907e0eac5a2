package clusters_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/internal/object"
)

// TestWatchSetResources: resources added to a Watch are listed and watched, resources dropped
// are no longer reported, and a resource the cluster does not serve is refused by name.
func TestWatchSetResources(t *testing.T) {
	c, m, target, ns := setup(t)
	ctx := context.Background()
	if _, err := m.Apply(ctx, objects(t, ns, webDeployment, configMap("settings", "mode: fast")), &clusters.Inventory{App: "shop"}, clusters.DefaultApplyOptions()); err != nil {
		t.Fatal(err)
	}
	d := newDrifts(ns)
	w := startWatch(t, target, d, clusters.DefaultWatchOptions(), configMaps)
	if got := w.Resources(); fmt.Sprint(got) != fmt.Sprint([]schema.GroupVersionResource{configMaps}) {
		t.Fatalf("Resources = %v", got)
	}
	if err := w.SetResources([]schema.GroupVersionResource{configMaps, deployments}); err != nil {
		t.Fatal(err)
	}
	syncCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := w.WaitSynced(syncCtx); err != nil {
		t.Fatal(err)
	}
	fleettest.Kubectl(t, c, "-n", ns, "scale", "deployment", "web", "--replicas=2")
	next := 0
	if _, next = d.wait(t, next, "kubectl scale", named("web")); w.Objects() < 2 {
		t.Errorf("Objects = %d, want at least the 2 of this test", w.Objects())
	}

	if err := w.SetResources([]schema.GroupVersionResource{deployments}); err != nil {
		t.Fatal(err)
	}
	fleettest.Kubectl(t, c, "-n", ns, "patch", "configmap", "settings", "--field-manager=hotfix", "-p", `{"data":{"mode":"slow"}}`)
	fleettest.Kubectl(t, c, "-n", ns, "patch", "deployment", "web", "--field-manager=sentinel", "-p", `{"metadata":{"annotations":{"sentinel":"1"}}}`)
	_, after := d.wait(t, next, "the sentinel", func(ev clusters.DriftEvent) bool { return ev.Manager == "sentinel" })
	for _, ev := range d.all()[next:after] {
		if ev.ID.Kind == "ConfigMap" {
			t.Errorf("event of a resource no longer watched: %+v", ev)
		}
	}

	widgets := schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
	err := w.SetResources([]schema.GroupVersionResource{deployments, widgets})
	if err == nil || !strings.Contains(err.Error(), "widgets.v1.example.com") {
		t.Errorf("SetResources with a resource not served: %v", err)
	}
	if got := w.Resources(); fmt.Sprint(got) != fmt.Sprint([]schema.GroupVersionResource{deployments}) {
		t.Errorf("Resources = %v", got)
	}
	if _, err := target.Watch(ctx, []schema.GroupVersionResource{widgets}, clusters.WatchOptions{OnDrift: d.on}); err == nil {
		t.Error("Watch of a resource not served started")
	}
}

// TestWatchResync: with a ResyncPeriod, a drift of Flotilla's fields is reported again until
// Flotilla takes its fields back.
func TestWatchResync(t *testing.T) {
	c, m, target, ns := setup(t)
	ctx := context.Background()
	objs := objects(t, ns, configMap("settings", "mode: fast"), configMap("sentinel", "a: b"))
	applied, err := m.Apply(ctx, objs, &clusters.Inventory{App: "shop"}, clusters.DefaultApplyOptions())
	if err != nil {
		t.Fatal(err)
	}
	d := newDrifts(ns)
	opts := clusters.DefaultWatchOptions()
	opts.ResyncPeriod = time.Second
	startWatch(t, target, d, opts, configMaps)
	fleettest.Kubectl(t, c, "-n", ns, "patch", "configmap", "settings", "--field-manager=hotfix", "-p", `{"data":{"mode":"slow"}}`)
	ev, next := d.wait(t, 0, "the patch", named("settings"))
	if ev.Resync || ev.Manager != "hotfix" {
		t.Fatalf("patch: %+v", ev)
	}
	resync := func(name string) func(clusters.DriftEvent) bool {
		return func(ev clusters.DriftEvent) bool { return ev.ID.Name == name && ev.Resync }
	}
	ev, next = d.wait(t, next, "a resync", resync("settings"))
	if ev.Manager != "hotfix" || !ev.OwnedFieldsChanged {
		t.Errorf("resync: %+v", ev)
	}

	apply := clusters.DefaultApplyOptions()
	apply.ForceConflicts = true
	if _, err := m.Apply(ctx, objs[:1], clusters.NextInventory(&clusters.Inventory{App: "shop"}, applied, nil), apply); err != nil {
		t.Fatal(err)
	}
	// The sentinel's event comes after the heal's (one informer, in order); two resyncs of the
	// sentinel later, a whole resync has run since the heal.
	fleettest.Kubectl(t, c, "-n", ns, "patch", "configmap", "sentinel", "--field-manager=sentinel", "-p", `{"data":{"a":"c"}}`)
	_, healed := d.wait(t, next, "the sentinel", named("sentinel"))
	_, next = d.wait(t, healed, "the sentinel's resync", resync("sentinel"))
	_, next = d.wait(t, next, "the sentinel's second resync", resync("sentinel"))
	for _, ev := range d.all()[healed:next] {
		if ev.ID.Name == "settings" {
			t.Errorf("reported again after Flotilla took its fields back: %+v", ev)
		}
	}
}

// TestWatchRestarts: when the CRD of a watched resource is deleted, the watch fails, is
// restarted (counted) and the failure is told to OnError; the Watch still stops cleanly.
func TestWatchRestarts(t *testing.T) {
	c, _, target, ns := setup(t)
	crd := `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: watchwidgets.example.com}
spec:
  group: example.com
  names: {kind: WatchWidget, plural: watchwidgets, singular: watchwidget, listKind: WatchWidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`
	file := filepath.Join(t.TempDir(), "crd.yaml")
	if err := os.WriteFile(file, []byte(crd), 0o600); err != nil {
		t.Fatal(err)
	}
	fleettest.Kubectl(t, c, "apply", "-f", file)
	t.Cleanup(func() {
		_, _ = fleettest.KubectlResult(c, "delete", "crd", "watchwidgets.example.com", "--ignore-not-found")
	})
	fleettest.Kubectl(t, c, "wait", "--for=condition=Established", "crd/watchwidgets.example.com", "--timeout=60s")
	failed := make(chan error, 100)
	opts := clusters.DefaultWatchOptions()
	opts.OnError = func(_ schema.GroupVersionResource, err error) {
		select {
		case failed <- err:
		default:
		}
	}
	gvr := schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "watchwidgets"}
	w := startWatch(t, target, newDrifts(ns), opts, gvr)
	fleettest.Kubectl(t, c, "delete", "crd", "watchwidgets.example.com")
	select {
	case err := <-failed:
		t.Logf("watch failure told to OnError: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("no watch failure reported after the CRD was deleted")
	}
	if w.Restarts() == 0 {
		t.Error("Restarts = 0 after a failure")
	}
}

// TestWatchPrune: an object Flotilla prunes is reported deleted (the agent knows its own
// prunes from the inventory); one it releases, annotated flotilla.dev/prune: disabled, leaves
// the watch without an event.
func TestWatchPrune(t *testing.T) {
	c, m, target, ns := setup(t)
	ctx := context.Background()
	applied, err := m.Apply(ctx, objects(t, ns, extra, kept, configMap("sentinel", "a: b")), &clusters.Inventory{App: "shop"}, clusters.DefaultApplyOptions())
	if err != nil {
		t.Fatal(err)
	}
	fleettest.Kubectl(t, c, "-n", ns, "patch", "configmap", "kept", "--field-manager=hotfix", "-p", `{"data":{"x":"y"}}`)
	d := newDrifts(ns)
	startWatch(t, target, d, clusters.DefaultWatchOptions(), configMaps)
	inv := clusters.NextInventory(&clusters.Inventory{App: "shop"}, applied, nil)
	desired := map[object.ID]bool{{Kind: "ConfigMap", Namespace: ns, Name: "sentinel"}: true}
	if _, err := m.Prune(ctx, inv, desired, clusters.DefaultPruneOptions()); err != nil {
		t.Fatal(err)
	}
	fleettest.Kubectl(t, c, "-n", ns, "patch", "configmap", "sentinel", "--field-manager=sentinel", "-p", `{"data":{"a":"c"}}`)
	_, next := d.wait(t, 0, "the sentinel", named("sentinel"))
	for _, ev := range d.all()[:next-1] {
		if ev.ID.Name != "extra" || !ev.Deleted {
			t.Errorf("prune: %+v", ev)
		}
	}
}
