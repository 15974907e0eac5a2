package clusters_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/clusters/localfleet"
	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/internal/object"
)

// Drift watches against a real cluster: changes made with kubectl are reported with their
// manager, Flotilla's own writes and controllers' status updates are not.

// eventDeadline bounds every wait for an event; drift should be noticed within a second.
const eventDeadline = 10 * time.Second

// drifts records what a Watch reports in one namespace, for tests to wait on.
type drifts struct {
	ns     string
	mu     sync.Mutex
	events []clusters.DriftEvent
	added  chan struct{} // signalled on each event
}

func newDrifts(ns string) *drifts { return &drifts{ns: ns, added: make(chan struct{}, 1)} }

func (d *drifts) on(ev clusters.DriftEvent) {
	if ev.ID.Namespace != d.ns {
		return // other tests' objects, being deleted with their namespaces
	}
	d.mu.Lock()
	d.events = append(d.events, ev)
	d.mu.Unlock()
	select {
	case d.added <- struct{}{}:
	default:
	}
}

// all returns the events so far.
func (d *drifts) all() []clusters.DriftEvent {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]clusters.DriftEvent(nil), d.events...)
}

// wait returns the first event from index from on that matches, failing the test after the
// deadline, and the index after it.
func (d *drifts) wait(t *testing.T, from int, what string, match func(clusters.DriftEvent) bool) (clusters.DriftEvent, int) {
	t.Helper()
	deadline := time.NewTimer(eventDeadline)
	defer deadline.Stop()
	for {
		events := d.all()
		for i := from; i < len(events); i++ {
			if match(events[i]) {
				return events[i], i + 1
			}
		}
		select {
		case <-d.added:
		case <-deadline.C:
			t.Fatalf("no drift event for %s within %s; events: %+v", what, eventDeadline, events[from:])
		}
	}
}

func named(name string) func(clusters.DriftEvent) bool {
	return func(ev clusters.DriftEvent) bool { return ev.ID.Name == name }
}

// startWatch watches the resources until the test ends, and waits until the Watch has synced.
func startWatch(t *testing.T, target *clusters.Target, d *drifts, opts clusters.WatchOptions, resources ...schema.GroupVersionResource) *clusters.Watch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	opts.OnDrift = d.on
	w, err := target.Watch(ctx, resources, opts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		<-w.Done()
	})
	syncCtx, done := context.WithTimeout(ctx, time.Minute)
	defer done()
	if err := w.WaitSynced(syncCtx); err != nil {
		t.Fatal(err)
	}
	return w
}

var (
	configMaps  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	deployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
)

const webDeployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: NS}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: example.com/web:1}]}\n"

func configMap(name, data string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: NS}\ndata: {" + data + "}\n"
}

// latency runs kubectl and returns the times before it started and after it returned.
func timedKubectl(t *testing.T, c *localfleet.Cluster, args ...string) (before, after time.Time) {
	t.Helper()
	before = time.Now()
	fleettest.Kubectl(t, c, args...)
	return before, time.Now()
}

// kubectlStep is a change made with kubectl and the event it should cause.
type kubectlStep struct {
	what, name string // the object whose event is awaited
	args       []string
	want       func(clusters.DriftEvent) bool
}

// runSteps runs the steps in order, waiting for each one's event from index next on; it returns
// the index after the last event and the latencies.
func runSteps(t *testing.T, c *localfleet.Cluster, d *drifts, next int, steps ...kubectlStep) (int, []string) {
	t.Helper()
	var latencies []string
	for _, step := range steps {
		before, after := timedKubectl(t, c, step.args...)
		var ev clusters.DriftEvent
		ev, next = d.wait(t, next, step.what, named(step.name))
		latencies = append(latencies, fmt.Sprintf("%s: %v after kubectl returned (%v after it started)", step.what,
			ev.Seen.Sub(after).Round(time.Millisecond), ev.Seen.Sub(before).Round(time.Millisecond)))
		if !step.want(ev) {
			t.Errorf("%s: %+v", step.what, ev)
		}
		t.Logf("%s: manager %q, operation %q, owned fields changed %v", step.what, ev.Manager, ev.Operation, ev.OwnedFieldsChanged)
	}
	return next, latencies
}

// TestWatchDrift: scale, patch, label and delete with kubectl are reported, attributed to
// kubectl's field managers; Flotilla's applies and the Deployment controller's status updates
// are not reported as changes of Flotilla's fields.
func TestWatchDrift(t *testing.T) {
	c, m, target, ns := setup(t)
	ctx := context.Background()
	objs := objects(t, ns, webDeployment, configMap("settings", "mode: fast"), configMap("extra", "a: b"),
		configMap("labelled", "a: b"), configMap("sentinel", "a: b"))
	applied, err := m.Apply(ctx, objs, &clusters.Inventory{App: "shop"}, clusters.DefaultApplyOptions())
	if err != nil {
		t.Fatal(err)
	}
	inv := clusters.NextInventory(&clusters.Inventory{App: "shop"}, applied, nil)
	resources, err := target.WatchResources(inv)
	if err != nil || fmt.Sprint(resources) != fmt.Sprint([]schema.GroupVersionResource{configMaps, deployments}) {
		t.Fatalf("WatchResources = %v, %v", resources, err)
	}
	d := newDrifts(ns)
	w := startWatch(t, target, d, clusters.DefaultWatchOptions(), resources...)
	kubectl := func(ev clusters.DriftEvent) bool { return strings.HasPrefix(ev.Manager, "kubectl") && !ev.Deleted }
	next, latencies := runSteps(t, c, d, 0,
		kubectlStep{"scale", "web", []string{"-n", ns, "scale", "deployment", "web", "--replicas=2"}, func(ev clusters.DriftEvent) bool {
			return kubectl(ev) && ev.Operation == "Update/scale" && ev.OwnedFieldsChanged && ev.App == "shop" && ev.Cluster == c.Name && ev.ID == applied[0].ID
		}},
		kubectlStep{"patch", "settings", []string{"-n", ns, "patch", "configmap", "settings", "--field-manager=hotfix", "-p", `{"data":{"mode":"slow"}}`}, func(ev clusters.DriftEvent) bool {
			return ev.Manager == "hotfix" && ev.Operation == "Update" && ev.OwnedFieldsChanged && !ev.Deleted
		}})
	next = flotillaWritesUnreported(t, c, m, d, next, inv)
	editor := filepath.Join(t.TempDir(), "editor")
	if err := os.WriteFile(editor, []byte("#!/bin/sh\nsed -i 's/a: c/a: edited/' \"$1\"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBE_EDITOR", editor)
	next, more := runSteps(t, c, d, next,
		kubectlStep{"edit", "extra", []string{"-n", ns, "edit", "configmap", "extra"}, func(ev clusters.DriftEvent) bool {
			return kubectl(ev) && ev.OwnedFieldsChanged
		}},
		kubectlStep{"label", "labelled", []string{"-n", ns, "label", "configmap", "labelled", "team=payments"}, func(ev clusters.DriftEvent) bool {
			return kubectl(ev) && !ev.OwnedFieldsChanged
		}},
		kubectlStep{"label removed", "labelled", []string{"-n", ns, "label", "configmap", "labelled", "flotilla.dev/app-"}, func(ev clusters.DriftEvent) bool {
			return kubectl(ev) && ev.OwnedFieldsChanged && ev.App == "shop"
		}},
		kubectlStep{"delete", "settings", []string{"-n", ns, "delete", "configmap", "settings"}, func(ev clusters.DriftEvent) bool {
			return ev.Deleted && ev.Manager == "" && ev.OwnedFieldsChanged
		}})
	statusUnreported(t, c, m, d, next, inv, applied[0].ID)
	if w.Restarts() != 0 {
		t.Errorf("%d watch restarts", w.Restarts())
	}
	t.Logf("latency:\n%s", strings.Join(append(latencies, more...), "\n"))
}

// flotillaWritesUnreported: Flotilla's applies, of a changed object and one that takes back a
// patch, cause no event. It returns the index after the sentinel's event.
func flotillaWritesUnreported(t *testing.T, c *localfleet.Cluster, m *clusters.Manager, d *drifts, next int, inv *clusters.Inventory) int {
	t.Helper()
	changed := objects(t, d.ns, configMap("extra", "a: c"), configMap("settings", "mode: fast"))
	opts := clusters.DefaultApplyOptions()
	opts.ForceConflicts = true
	if _, err := m.Apply(context.Background(), changed, inv, opts); err != nil {
		t.Fatal(err)
	}
	mark := next
	fleettest.Kubectl(t, c, "-n", d.ns, "patch", "configmap", "sentinel", "--field-manager=sentinel", "-p", `{"data":{"a":"c"}}`)
	_, next = d.wait(t, next, "the sentinel", named("sentinel"))
	for _, e := range d.all()[mark : next-1] { // one informer's events arrive in order
		if e.ID.Kind == "ConfigMap" || e.OwnedFieldsChanged {
			t.Errorf("event for a write of Flotilla's: %+v", e)
		}
	}
	return next
}

// statusUnreported: a rollout applied by Flotilla (taking back the scale's replicas) and the
// Deployment controller's status updates while it rolls out cause no event that says Flotilla's
// fields changed.
func statusUnreported(t *testing.T, c *localfleet.Cluster, m *clusters.Manager, d *drifts, next int, inv *clusters.Inventory, id object.ID) {
	t.Helper()
	opts := clusters.DefaultApplyOptions()
	opts.ForceConflicts = true
	rollout := objects(t, d.ns, strings.ReplaceAll(webDeployment, "web:1", "web:2"))
	if _, err := m.Apply(context.Background(), rollout, inv, opts); err != nil {
		t.Fatal(err)
	}
	fleettest.Eventually(t, 2*time.Minute, func() error {
		if got := fleettest.Kubectl(t, c, "-n", d.ns, "get", "deployment", "web", "-o", "jsonpath={.status.updatedReplicas}/{.status.availableReplicas}/{.status.replicas}"); got != "1/1/1" {
			return fmt.Errorf("deployment web: updated/available/all replicas %s", got)
		}
		return nil
	})
	fleettest.Kubectl(t, c, "-n", d.ns, "patch", "deployment", "web", "--field-manager=sentinel", "-p", `{"metadata":{"annotations":{"sentinel":"1"}}}`)
	d.wait(t, next, "the Deployment sentinel", func(ev clusters.DriftEvent) bool { return ev.Manager == "sentinel" && ev.ID == id })
	for _, e := range d.all() {
		if e.ID != id {
			continue
		}
		t.Logf("Deployment event: %s %s, owned fields changed: %v", e.Manager, e.Operation, e.OwnedFieldsChanged)
		if e.OwnedFieldsChanged && e.Operation != "Update/scale" {
			t.Errorf("Deployment event: %+v", e)
		}
	}
}

// TestWatchLatency measures how long after a write returns its drift is reported, over
// sequential patches of one ConfigMap by another field manager (client-go, no kubectl start-up).
func TestWatchLatency(t *testing.T) {
	c, m, target, ns := setup(t)
	ctx := context.Background()
	if _, err := m.Apply(ctx, objects(t, ns, configMap("settings", "mode: fast")), &clusters.Inventory{App: "shop"}, clusters.DefaultApplyOptions()); err != nil {
		t.Fatal(err)
	}
	d := newDrifts(ns)
	startWatch(t, target, d, clusters.DefaultWatchOptions(), configMaps)
	client := fleettest.Client(t, c)
	var latencies, requests []time.Duration
	next := 0
	for i := range 50 {
		patch := fmt.Sprintf(`{"data":{"mode":"v%d"}}`, i)
		sent := time.Now()
		_, err := client.CoreV1().ConfigMaps(ns).Patch(ctx, "settings", "application/merge-patch+json", []byte(patch), patchOptions("latency"))
		if err != nil {
			t.Fatal(err)
		}
		requests = append(requests, time.Since(sent))
		var ev clusters.DriftEvent
		ev, next = d.wait(t, next, "patch", named("settings"))
		latencies = append(latencies, ev.Seen.Sub(sent))
	}
	p50, p90, worst := percentiles(latencies)
	r50, _, _ := percentiles(requests)
	t.Logf("drift reported after the write was sent, %d patches by one manager: p50 %v, p90 %v, max %v (the PATCH itself: p50 %v)", len(latencies), p50, p90, worst, r50)
	if p50 > time.Second {
		t.Errorf("p50 latency %v, want within a second", p50)
	}
}

// percentiles returns the p50, p90 and maximum.
func percentiles(ds []time.Duration) (p50, p90, worst time.Duration) {
	ds = append([]time.Duration(nil), ds...)
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2], ds[len(ds)*9/10], ds[len(ds)-1]
}

func patchOptions(manager string) metav1.PatchOptions {
	return metav1.PatchOptions{FieldManager: manager}
}

// TestWatchStops: when the context ends, every informer stops and Done closes; no goroutine of
// client-go's informers is left.
func TestWatchStops(t *testing.T) {
	_, _, target, ns := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	w, err := target.Watch(ctx, []schema.GroupVersionResource{configMaps, deployments}, clusters.WatchOptions{OnDrift: newDrifts(ns).on})
	if err != nil {
		t.Fatal(err)
	}
	syncCtx, done := context.WithTimeout(ctx, time.Minute)
	defer done()
	if err := w.WaitSynced(syncCtx); err != nil {
		t.Fatal(err)
	}
	if informers := informerGoroutines(); informers == 0 {
		t.Fatal("no informer goroutines while watching: the check below would prove nothing")
	}
	cancel()
	select {
	case <-w.Done():
	case <-time.After(eventDeadline):
		t.Fatal("Done not closed after the context ended")
	}
	if n := informerGoroutines(); n != 0 {
		t.Errorf("%d informer goroutines left after Done", n)
	}
	if err := w.SetResources([]schema.GroupVersionResource{configMaps}); err != nil || len(w.Resources()) != 2 {
		t.Errorf("SetResources after the end: %v, resources %v", err, w.Resources())
	}
}

// informerGoroutines counts goroutines running client-go's informer machinery.
func informerGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "k8s.io/client-go/tools/cache.") {
			count++
		}
	}
	return count
}
