package reconciler_test

import (
	"context"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/reconciler"
)

func TestDiffShowsDriftAndGitChangesButNoSecretValue(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	const oldSecret, newSecret = "old-s3cret-value", "new-s3cret-value"
	secret := func(v string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: " + v + "}\n"
	}
	repo := appRepo(t, ns, map[string]string{"a.yaml": configMap("a", "1"), "s.yaml": secret(oldSecret)})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app", Sync: config.SyncPolicy{Prune: true}}, ns)
	opts := reconciler.Options{Cluster: "dev"}
	s := reconciler.NewSyncer(t.TempDir())
	syncOK(t, s, cfg, opts)

	diff := func() []clusters.ObjectDiff {
		t.Helper()
		diffs, err := s.Diff(context.Background(), cfg, opts)
		if err != nil || len(diffs) != 1 || diffs[0].Error != "" {
			t.Fatalf("diff: %v %+v", err, diffs)
		}
		return diffs[0].Objects
	}
	if got := diff(); len(got) != 0 {
		t.Fatalf("diff right after sync: %+v", got)
	}

	fleettest.Kubectl(t, c, "-n", ns, "patch", "configmap", "a", "--type=merge", "-p", `{"data":{"value":"drifted"}}`)
	writeApp(t, repo, ns, map[string]string{"a.yaml": configMap("a", "1"), "s.yaml": secret(newSecret), "b.yaml": configMap("b", "1")})

	got := diff()
	byName := map[string]clusters.ObjectDiff{}
	for _, d := range got {
		byName[d.ID.Kind+"/"+d.ID.Name] = d
	}
	if d := byName["ConfigMap/a"]; d.Action != clusters.ActionConfigured || !strings.Contains(d.Diff, "-  value: drifted\n+  value: \"1\"") || !strings.Contains(d.Note, `conflict with "kubectl-patch"`) {
		t.Errorf("drifted ConfigMap: %s, note %q\n%s", d.Action, d.Note, d.Diff)
	}
	if d := byName["ConfigMap/b"]; d.Action != clusters.ActionCreated {
		t.Errorf("new ConfigMap: %+v", d)
	}
	sd := byName["Secret/db"]
	if sd.Action != clusters.ActionConfigured || !strings.Contains(sd.Diff, "-  password: '[redacted] ") || !strings.Contains(sd.Diff, "+  password: '[redacted] ") {
		t.Errorf("changed Secret value is not shown as a changed token:\n%s", sd.Diff)
	}
	for _, d := range got {
		for _, v := range []string{oldSecret, newSecret, "b2xkLXMzY3JldC12YWx1ZQ", "bmV3LXMzY3JldC12YWx1ZQ"} {
			if strings.Contains(d.Diff, v) {
				t.Errorf("%s: diff shows a Secret value (%s)", d.ID, v)
			}
		}
	}
}

// TestDiffOfANewCRDAndItsObjects: a render that brings a CRD and objects of its kind diffs as
// created, although the cluster cannot dry-run objects of a kind it does not serve yet.
func TestDiffOfANewCRDAndItsObjects(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	group := ns + ".flotilla.dev"
	repo := appRepo(t, ns, map[string]string{
		"crd.yaml": widgetCRD(group, "{type: object, x-kubernetes-preserve-unknown-fields: true}"),
		"w.yaml":   "apiVersion: " + group + "/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 3}\n",
	})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app"}, ns)
	diffs, err := reconciler.NewSyncer(t.TempDir()).Diff(context.Background(), cfg, reconciler.Options{Cluster: "dev"})
	if err != nil || len(diffs) != 1 || diffs[0].Error != "" {
		t.Fatalf("diff: %v %+v", err, diffs)
	}
	actions := map[string]clusters.Action{}
	for _, d := range diffs[0].Objects {
		actions[d.ID.Kind] = d.Action
		if d.ID.Kind == "Widget" && !strings.Contains(d.Diff, "+  size: 3") {
			t.Errorf("Widget diff does not show the object:\n%s", d.Diff)
		}
	}
	if actions["CustomResourceDefinition"] != clusters.ActionCreated || actions["Widget"] != clusters.ActionCreated {
		t.Errorf("actions %v, want the CRD and the Widget created", actions)
	}
	if _, err := fleettest.KubectlResult(c, "get", "crd", "widgets."+group); err == nil {
		t.Error("diff created the CRD")
	}
}
