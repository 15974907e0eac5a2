package reconciler_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/reconciler"
	"github.com/flotilla-dev/flotilla/sources/gittest"
)

func configMap(name, value string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\ndata: {value: \"" + value + "\"}\n"
}

// appRepo commits a kustomization in app/ with the given resources into a fresh repository.
func appRepo(t *testing.T, ns string, resources map[string]string) *gittest.Repo {
	t.Helper()
	repo := gittest.NewRepo(t, t.TempDir(), "fleet")
	writeApp(t, repo, ns, resources)
	return repo
}

func writeApp(t *testing.T, repo *gittest.Repo, ns string, resources map[string]string) {
	t.Helper()
	os.RemoveAll(filepath.Join(repo.Work, "app"))
	files := map[string]string{"app/kustomization.yaml": "namespace: " + ns + "\nresources:\n"}
	for name, content := range resources {
		files["app/kustomization.yaml"] += "- " + name + "\n"
		files["app/"+name] = content
	}
	if len(resources) == 0 {
		files["app/kustomization.yaml"] = "namespace: " + ns + "\nresources: []\n"
	}
	repo.Write(files)
	repo.Commit("app")
}

func TestPruneDeletesOnlyWhatLeftGitAndWasOurs(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	repo := appRepo(t, ns, map[string]string{"keep.yaml": configMap("keep", "1"), "gone.yaml": configMap("gone", "1"), "pinned.yaml": strings.Replace(configMap("pinned", "1"), "metadata: {name: pinned}", "metadata: {name: pinned, annotations: {flotilla.dev/prune: disabled}}", 1)})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app", Sync: config.SyncPolicy{Prune: true}}, ns)
	opts := reconciler.Options{Cluster: "dev"}
	s := reconciler.NewSyncer(t.TempDir())
	syncOK(t, s, cfg, opts)
	// Not in the inventory: made by someone else, even with the App's label.
	fleettest.Kubectl(t, c, "-n", ns, "create", "configmap", "foreign", "--from-literal=a=b")
	fleettest.Kubectl(t, c, "-n", ns, "label", "configmap", "foreign", clusters.LabelApp+"="+ns)

	writeApp(t, repo, ns, map[string]string{"keep.yaml": configMap("keep", "1")})
	results := syncOK(t, s, cfg, opts)
	if got := results[0].Changes.Count(clusters.ActionPruned); got != 1 {
		t.Errorf("pruned %d, want 1: %+v", got, results[0].Changes)
	}
	names := fleettest.Kubectl(t, c, "-n", ns, "get", "configmaps", "-o", "jsonpath={.items[*].metadata.name}")
	for _, want := range []string{"keep", "foreign", "pinned"} {
		if !strings.Contains(names, want) {
			t.Errorf("configmap %s is gone; left: %s", want, names)
		}
	}
	if strings.Contains(names, "gone") {
		t.Errorf("configmap gone was not pruned; left: %s", names)
	}
}

func TestNothingChangesWhenRenderFailsOrIsRefused(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	repo := appRepo(t, ns, map[string]string{"a.yaml": configMap("a", "1"), "b.yaml": configMap("b", "1")})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app", Sync: config.SyncPolicy{Prune: true}}, ns)
	opts := reconciler.Options{Cluster: "dev"}
	s := reconciler.NewSyncer(t.TempDir())
	syncOK(t, s, cfg, opts)
	before := fleettest.Kubectl(t, c, "-n", ns, "get", "configmaps", "-o", "jsonpath={.items[*].metadata.resourceVersion}")

	tests := []struct {
		name       string
		files      map[string]string
		wantStatus reconciler.Status
		wantErr    string
	}{
		{"render error", map[string]string{"a.yaml": configMap("a", "2"), "b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [broken\n"}, reconciler.StatusFailed, "b.yaml"},
		{"empty render", map[string]string{}, reconciler.StatusRefused, "the render holds no objects"},
		{"hostile render", map[string]string{"a.yaml": configMap("a", "2"), "b.yaml": configMap("b", "2"), "c.yaml": ""}, reconciler.StatusFailed, "symlink to /etc/passwd leaves the repository"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeApp(t, repo, ns, tt.files)
			if tt.name == "hostile render" {
				os.Remove(filepath.Join(repo.Work, "app", "c.yaml"))
				if err := os.Symlink("/etc/passwd", filepath.Join(repo.Work, "app", "c.yaml")); err != nil {
					t.Fatal(err)
				}
				repo.Commit("symlink")
			}
			results, err := s.Sync(context.Background(), cfg, opts)
			if err != nil {
				t.Fatal(err)
			}
			r := results[0]
			if r.Status != tt.wantStatus || !strings.Contains(r.Error, tt.wantErr) || len(r.Changes) != 0 {
				t.Errorf("status %s, error %q, %d changes; want %s with %q and no change", r.Status, r.Error, len(r.Changes), tt.wantStatus, tt.wantErr)
			}
			after := fleettest.Kubectl(t, c, "-n", ns, "get", "configmaps", "-o", "jsonpath={.items[*].metadata.resourceVersion}")
			if after != before {
				t.Errorf("the cluster changed: resourceVersions %q → %q", before, after)
			}
		})
	}
}

func TestConflictNamesTheOtherManagerAndForceResolvesIt(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	repo := appRepo(t, ns, map[string]string{"a.yaml": configMap("a", "from-git")})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app"}, ns)
	opts := reconciler.Options{Cluster: "dev"}
	s := reconciler.NewSyncer(t.TempDir())
	syncOK(t, s, cfg, opts)
	fleettest.Kubectl(t, c, "-n", ns, "patch", "configmap", "a", "--field-manager=hotfix-operator", "--type=merge", "-p", `{"data":{"value":"by-hand"}}`)

	results, err := s.Sync(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if r := results[0]; r.Status != reconciler.StatusFailed || !strings.Contains(r.Error, `conflict with "hotfix-operator"`) || !strings.Contains(r.Error, "--force-conflicts") {
		t.Fatalf("status %s, error %q; want a conflict naming hotfix-operator", r.Status, r.Error)
	}
	if v := fleettest.Kubectl(t, c, "-n", ns, "get", "configmap/a", "-o", "jsonpath={.data.value}"); v != "by-hand" {
		t.Errorf("value after the conflict = %q; the other manager's value must stay", v)
	}
	opts.ForceConflicts = true
	syncOK(t, s, cfg, opts)
	if v := fleettest.Kubectl(t, c, "-n", ns, "get", "configmap/a", "-o", "jsonpath={.data.value}"); v != "from-git" {
		t.Errorf("value after --force-conflicts = %q, want from-git", v)
	}
}

func TestObjectThatIsNotOursIsNotAdopted(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	fleettest.Kubectl(t, c, "-n", ns, "create", "configmap", "a", "--from-literal=value=theirs")
	repo := appRepo(t, ns, map[string]string{"a.yaml": configMap("a", "ours")})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app"}, ns)
	opts := reconciler.Options{Cluster: "dev"}
	s := reconciler.NewSyncer(t.TempDir())
	results, _ := s.Sync(context.Background(), cfg, opts)
	if r := results[0]; r.Status != reconciler.StatusFailed || !strings.Contains(r.Error, "was not created by Flotilla") {
		t.Fatalf("status %s, error %q; want a refusal to adopt", r.Status, r.Error)
	}
	cfg.Apps[0].Spec.Sync.Adopt = true
	syncOK(t, s, cfg, opts)
	if v := fleettest.Kubectl(t, c, "-n", ns, "get", "configmap/a", "-o", "jsonpath={.data.value}"); v != "ours" {
		t.Errorf("value after adoption = %q, want ours", v)
	}
}

func TestUnreadyDeploymentIsDegraded(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	repo := appRepo(t, ns, map[string]string{"d.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: stuck}
spec:
  progressDeadlineSeconds: 5
  selector: {matchLabels: {app: stuck}}
  template:
    metadata: {labels: {app: stuck}}
    spec:
      nodeSelector: {no-such-node: "true"}
      containers: [{name: c, image: example/stuck:1}]
`})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app", Health: config.HealthPolicy{Timeout: config.Duration{Duration: 90e9}}}, ns)
	results, err := reconciler.NewSyncer(t.TempDir()).Sync(context.Background(), cfg, reconciler.Options{Cluster: "dev", Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	r := results[0]
	if r.Status != reconciler.StatusDegraded || !strings.Contains(r.Error, "Deployment.apps/"+ns+"/stuck") || !strings.Contains(r.Error, "ProgressDeadlineExceeded") {
		t.Fatalf("status %s, error %q; want Degraded naming the Deployment and ProgressDeadlineExceeded", r.Status, r.Error)
	}
}

func TestSecretValuesStayOutOfResults(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	const value, pin = "hunter2-do-not-print", "987654321"
	secret := "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: " + value + "}\n"
	repo := appRepo(t, ns, map[string]string{"s.yaml": secret})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app"}, ns)
	s := reconciler.NewSyncer(t.TempDir())
	var shown strings.Builder // progress, results and diffs of every pass
	pass := func(wantStatus reconciler.Status, wantError string) {
		t.Helper()
		results, err := s.Sync(context.Background(), cfg, reconciler.Options{Cluster: "dev", Observer: reconciler.ProgressLines(&shown)})
		if err != nil {
			t.Fatal(err)
		}
		if r := results[0]; r.Status != wantStatus || !strings.Contains(r.Error, wantError) {
			t.Fatalf("status %s, error %q; want %s with an error saying %q", r.Status, r.Error, wantStatus, wantError)
		}
		diffs, err := s.Diff(context.Background(), cfg, reconciler.Options{Cluster: "dev", Observer: reconciler.ProgressLines(&shown)})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []any{results, diffs} {
			b, _ := json.Marshal(v)
			shown.Write(b)
		}
	}
	pass(reconciler.StatusSynced, "")
	// Another manager changes the value: a conflict, whose message quotes no value.
	fleettest.Kubectl(t, c, "-n", ns, "patch", "secret", "db", "--field-manager=other", "--type=merge", "-p", `{"stringData":{"password":"changed-`+value+`"}}`)
	pass(reconciler.StatusFailed, `conflict with "other"`)
	// A value of the wrong type: the schema check names the field, not the value.
	writeApp(t, repo, ns, map[string]string{"s.yaml": strings.TrimSuffix(secret, "}\n") + ", pin: " + pin + "}\n"})
	pass(reconciler.StatusFailed, ".stringData.pin: expected string")
	for _, v := range []string{value, base64.StdEncoding.EncodeToString([]byte(value)), pin} {
		if strings.Contains(shown.String(), v) {
			t.Errorf("sync or diff output shows the Secret value %q:\n%s", v, shown.String())
		}
	}
}

// TestOneClusterDownOthersSync stops one cluster's API server: the other clusters sync, and the
// error names the one that is down. It uses a fleet of its own, since it breaks a cluster.
func TestOneClusterDownOthersSync(t *testing.T) {
	fleet := ownFleet(t, 3, "down")
	repo := appRepo(t, "default", map[string]string{"a.yaml": configMap("a", "1")})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app"}, "settings")
	fleet.Clusters[1].StopAPIServer()

	results, err := reconciler.NewSyncer(t.TempDir()).Sync(context.Background(), cfg, reconciler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		switch r.Cluster {
		case "staging":
			if r.Status != reconciler.StatusFailed || !strings.Contains(r.Error, "staging") {
				t.Errorf("staging (down): status %s, error %q; want Failed naming the cluster", r.Status, r.Error)
			}
		default:
			if r.Status != reconciler.StatusSynced {
				t.Errorf("%s: status %s, error %q; want Synced", r.Cluster, r.Status, r.Error)
			}
		}
	}
}

// TestBrokenSourceFailsOnlyItsApps: an App whose Source cannot be fetched fails; an App on
// another Source still syncs.
func TestBrokenSourceFailsOnlyItsApps(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	repo := appRepo(t, ns, map[string]string{"a.yaml": configMap("a", "1")})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app"}, ns)
	cfg.Sources = append(cfg.Sources, config.Source{Metadata: config.ObjectMeta{Name: "gone"},
		Spec: config.SourceSpec{URL: "file://" + filepath.Join(t.TempDir(), "missing.git"), Ref: config.GitRef{Branch: "main"}}})
	cfg.Apps = append(cfg.Apps, config.App{Metadata: config.ObjectMeta{Name: ns + "-gone"}, Spec: config.AppSpec{Source: "gone", Path: "app"}})

	results, err := reconciler.NewSyncer(t.TempDir()).Sync(context.Background(), cfg, reconciler.Options{Cluster: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 {
		t.Fatalf("%d results, want 2", len(results))
	}
	for _, r := range results {
		switch r.App {
		case ns:
			if r.Status != reconciler.StatusSynced {
				t.Errorf("App on the working Source: %s %s", r.Status, r.Error)
			}
		default:
			if r.Status != reconciler.StatusFailed || !strings.Contains(r.Error, "Source/gone") {
				t.Errorf("App on the broken Source: %s %q, want Failed naming Source/gone", r.Status, r.Error)
			}
		}
	}
}

// TestUnknownFieldIsRefusedAndNothingPruned: a field the cluster's schema does not declare (a
// typo in Git) fails the sync before anything is applied, naming the object and the field: the
// valid object of the same commit is not created either, and the object that left Git is not
// pruned.
func TestUnknownFieldIsRefusedAndNothingPruned(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	repo := appRepo(t, ns, map[string]string{"old.yaml": configMap("old", "1")})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app", Sync: config.SyncPolicy{Prune: true}}, ns)
	opts := reconciler.Options{Cluster: "dev"}
	s := reconciler.NewSyncer(t.TempDir())
	syncOK(t, s, cfg, opts)

	writeApp(t, repo, ns, map[string]string{"new.yaml": configMap("new", "1"), "web.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replica: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: example/web:1}]}
`})
	results, err := s.Sync(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	r := results[0]
	if r.Status != reconciler.StatusFailed || !strings.Contains(r.Error, "app/web.yaml: Deployment.apps/"+ns+"/web: .spec.replica: field not declared in schema") {
		t.Fatalf("status %s, error %q; want Failed naming app/web.yaml, Deployment.apps/%s/web and .spec.replica", r.Status, r.Error, ns)
	}
	if len(r.Changes) != 0 {
		t.Errorf("changes after a refused render: %+v", r.Changes)
	}
	for _, obj := range []string{"deployment/web", "configmap/new"} {
		if _, err := fleettest.KubectlResult(c, "-n", ns, "get", obj); err == nil {
			t.Errorf("%s was created although the render holds an invalid object", obj)
		}
	}
	if _, err := fleettest.KubectlResult(c, "-n", ns, "get", "configmap", "old"); err != nil {
		t.Errorf("configmap old was pruned although the apply failed: %v", err)
	}
}

// widgetCRD is a CustomResourceDefinition of kind Widget (widgets.GROUP, namespaced, served as
// v1) with the given openAPIV3Schema, in flow style.
func widgetCRD(group, schema string) string {
	return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.` + group + `}
spec:
  group: ` + group + `
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: ` + schema + `}}]
`
}

// TestCRDAndItsObjectsChangeInOneCommit: a commit that adds a field to a CRD's schema and uses it
// in an object of that kind syncs: the schema check leaves kinds that the render's own CRDs
// define to the API server, which knows the new schema once the CRD is applied.
func TestCRDAndItsObjectsChangeInOneCommit(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	group := ns + ".flotilla.dev"
	crd := func(fields string) string {
		return widgetCRD(group, "{type: object, properties: {spec: {type: object, properties: {"+fields+"}}}}")
	}
	widget := func(spec string) string {
		return "apiVersion: " + group + "/v1\nkind: Widget\nmetadata: {name: w}\nspec: {" + spec + "}\n"
	}
	repo := appRepo(t, ns, map[string]string{"crd.yaml": crd("size: {type: integer}"), "w.yaml": widget("size: 1")})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app", Sync: config.SyncPolicy{Prune: true}}, ns)
	opts := reconciler.Options{Cluster: "dev"}
	s := reconciler.NewSyncer(t.TempDir())
	t.Cleanup(func() { _, _ = fleettest.KubectlResult(c, "delete", "crd", "widgets."+group, "--wait=false") })
	syncOK(t, s, cfg, opts)

	writeApp(t, repo, ns, map[string]string{"crd.yaml": crd("size: {type: integer}, color: {type: string}"), "w.yaml": widget("size: 2, color: blue")})
	syncOK(t, s, cfg, opts)
	if got := fleettest.Kubectl(t, c, "-n", ns, "get", "widget.v1."+group, "w", "-o", "jsonpath={.spec.size} {.spec.color}"); got != "2 blue" {
		t.Errorf("widget spec = %q, want \"2 blue\"", got)
	}
}
