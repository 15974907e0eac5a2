package clusters_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/clusters/localfleet"
	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/internal/object"
)

// The verbs of a Manager, each against a real cluster, with kubectl as the witness.

var shared = fleettest.Shared{Options: localfleet.Options{Clusters: 1, NamePrefix: "verbs"}}

func TestMain(m *testing.M) { os.Exit(shared.Main(m)) }

// setup returns a Manager of App "shop" on the shared cluster and a namespace of the test's own.
func setup(t *testing.T) (*localfleet.Cluster, *clusters.Manager, *clusters.Target, string) {
	t.Helper()
	c := shared.Fleet(t).Clusters[0]
	ns := fleettest.Namespace(t, c)
	target, err := clusters.NewTargetForConfig(c.Name, nil, c.Config)
	if err != nil {
		t.Fatal(err)
	}
	return c, clusters.NewManager(target, "shop"), target, ns
}

// objects decodes YAML documents, with NS replaced by the namespace.
func objects(t *testing.T, ns string, docs ...string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, doc := range docs {
		b, err := yaml.YAMLToJSON([]byte(strings.ReplaceAll(doc, "NS", ns)))
		if err != nil {
			t.Fatal(err)
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(b); err != nil {
			t.Fatal(err)
		}
		out = append(out, obj)
	}
	return out
}

const (
	settings = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: NS}\ndata: {mode: fast}\n"
	extra    = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra, namespace: NS}\ndata: {a: b}\n"
	kept     = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kept, namespace: NS, annotations: {flotilla.dev/prune: disabled}}\n"
)

func actions(cs clusters.ChangeSet) map[string]clusters.Action {
	out := map[string]clusters.Action{}
	for _, c := range cs {
		out[c.ID.Name] = c.Action
	}
	return out
}

// TestApplyThenNothingToDo: Apply creates what is missing, labelled as the App's; applied again
// with the inventory that followed, it finds everything unchanged and sends no write.
func TestApplyThenNothingToDo(t *testing.T) {
	c, m, target, ns := setup(t)
	ctx := context.Background()
	objs := objects(t, ns, settings, extra)
	inv := &clusters.Inventory{App: "shop"}
	changes, err := m.Apply(ctx, objs, inv, clusters.DefaultApplyOptions())
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(changes); got["settings"] != clusters.ActionCreated || got["extra"] != clusters.ActionCreated {
		t.Fatalf("first apply: %v", got)
	}
	if len(inv.Entries) != 0 {
		t.Error("Apply changed the inventory it was given")
	}
	if got := fleettest.Kubectl(t, c, "-n", ns, "get", "configmap", "settings", "-o", "jsonpath={.metadata.labels.flotilla\\.dev/app}"); got != "shop" {
		t.Errorf("label flotilla.dev/app = %q", got)
	}
	next := clusters.NextInventory(inv, changes, nil)
	_, writesBefore := target.Requests().Requests()
	again, err := m.Apply(ctx, objs, next, clusters.DefaultApplyOptions())
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(again); got["settings"] != clusters.ActionUnchanged || got["extra"] != clusters.ActionUnchanged {
		t.Errorf("second apply: %v", got)
	}
	if _, writes := target.Requests().Requests(); writes != writesBefore {
		t.Errorf("the second apply sent %d writes", writes-writesBefore)
	}
}

// TestApplyRefusesAnotherAppsObject: an object that another App manages is not taken over.
func TestApplyRefusesAnotherAppsObject(t *testing.T) {
	c, m, _, ns := setup(t)
	fleettest.Kubectl(t, c, "-n", ns, "create", "configmap", "settings")
	fleettest.Kubectl(t, c, "-n", ns, "label", "configmap", "settings", "flotilla.dev/app=billing")
	changes, err := m.Apply(context.Background(), objects(t, ns, settings), &clusters.Inventory{App: "shop"}, clusters.DefaultApplyOptions())
	if err == nil || !strings.Contains(err.Error(), "belongs to App/billing") {
		t.Fatalf("err = %v, want the object refused", err)
	}
	if actions(changes)["settings"] != clusters.ActionFailed {
		t.Errorf("changes: %v", changes)
	}
}

// TestPruneOnlyWhatTheInventoryHolds: Prune deletes the inventory's objects that left Git,
// skips one marked flotilla.dev/prune: disabled, and leaves everything else alone.
func TestPruneOnlyWhatTheInventoryHolds(t *testing.T) {
	c, m, _, ns := setup(t)
	ctx := context.Background()
	fleettest.Kubectl(t, c, "-n", ns, "create", "configmap", "bystander")
	applied, err := m.Apply(ctx, objects(t, ns, settings, extra, kept), &clusters.Inventory{App: "shop"}, clusters.DefaultApplyOptions())
	if err != nil {
		t.Fatal(err)
	}
	inv := clusters.NextInventory(&clusters.Inventory{App: "shop"}, applied, nil)
	desired := map[object.ID]bool{{Kind: "ConfigMap", Namespace: ns, Name: "settings"}: true}
	pruned, err := m.Prune(ctx, inv, desired, clusters.DefaultPruneOptions())
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(pruned); got["extra"] != clusters.ActionPruned || got["kept"] != clusters.ActionSkipped || len(got) != 2 {
		t.Errorf("pruned: %v", got)
	}
	left := fleettest.Kubectl(t, c, "-n", ns, "get", "configmaps", "-o", "jsonpath={.items[*].metadata.name}")
	for _, name := range []string{"settings", "kept", "bystander"} {
		if !strings.Contains(left, name) {
			t.Errorf("%s was deleted: left %q", name, left)
		}
	}
	if strings.Contains(left, "extra") {
		t.Errorf("extra is still there: %q", left)
	}
	if next := clusters.NextInventory(inv, nil, pruned); len(next.Entries) != 1 {
		t.Errorf("next inventory: %v", next.Entries)
	}
}

// TestDiffShowsWhatSomeoneChanged: a value changed with kubectl shows as a difference that a
// sync would take back; nothing is written.
func TestDiffShowsWhatSomeoneChanged(t *testing.T) {
	c, m, target, ns := setup(t)
	ctx := context.Background()
	objs := objects(t, ns, settings)
	applied, err := m.Apply(ctx, objs, &clusters.Inventory{App: "shop"}, clusters.DefaultApplyOptions())
	if err != nil {
		t.Fatal(err)
	}
	inv := clusters.NextInventory(&clusters.Inventory{App: "shop"}, applied, nil)
	fleettest.Kubectl(t, c, "-n", ns, "patch", "configmap", "settings", "-p", `{"data":{"mode":"slow"}}`)
	_, writesBefore := target.Requests().Requests()
	diffs, err := m.Diff(ctx, objs, inv, clusters.DefaultDiffOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 1 || diffs[0].Action != clusters.ActionConfigured || !strings.Contains(diffs[0].Diff, "-  mode: slow") || !strings.Contains(diffs[0].Diff, "+  mode: fast") {
		t.Fatalf("diffs: %+v", diffs)
	}
	if _, writes := target.Requests().Requests(); writes != writesBefore {
		t.Errorf("diff sent %d writes", writes-writesBefore)
	}
	if got := fleettest.Kubectl(t, c, "-n", ns, "get", "configmap", "settings", "-o", "jsonpath={.data.mode}"); got != "slow" {
		t.Errorf("diff changed the object: mode = %q", got)
	}
}

// TestInventoryRoundTrip: an inventory written to the cluster reads back the same.
func TestInventoryRoundTrip(t *testing.T) {
	_, m, target, ns := setup(t)
	ctx := context.Background()
	applied, err := m.Apply(ctx, objects(t, ns, settings), &clusters.Inventory{App: "shop"}, clusters.DefaultApplyOptions())
	if err != nil {
		t.Fatal(err)
	}
	app := "shop-" + ns // one inventory per test
	inv := clusters.NextInventory(&clusters.Inventory{App: app}, applied, nil)
	inv.Revision, inv.Digest = "0123456789abcdef0123456789abcdef01234567", "sha256:00"
	if err := clusters.WriteInventory(ctx, target, inv); err != nil {
		t.Fatal(err)
	}
	back, err := clusters.ReadInventory(ctx, target, app)
	if err != nil {
		t.Fatal(err)
	}
	if !back.SameAs(inv) || back.Revision != inv.Revision || back.Digest != inv.Digest {
		t.Errorf("read back %+v, wrote %+v", back, inv)
	}
}

// TestWaitHealthy: a Deployment becomes healthy once its pods run (on the fleet's fake node).
func TestWaitHealthy(t *testing.T) {
	_, m, _, ns := setup(t)
	ctx := context.Background()
	deployment := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: NS}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: example.com/web:1}]}\n"
	applied, err := m.Apply(ctx, objects(t, ns, deployment), &clusters.Inventory{App: "shop"}, clusters.DefaultApplyOptions())
	if err != nil {
		t.Fatal(err)
	}
	id := applied[0].ID
	opts := clusters.DefaultWaitOptions()
	opts.Timeout = 2 * time.Minute
	health, err := m.WaitHealthy(ctx, []object.ID{id}, map[object.ID]string{id: "v1"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(health) != 1 || health[0].Status != clusters.HealthHealthy {
		t.Errorf("health: %+v", health)
	}
}
