package reconciler_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/clusters/localfleet"
	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/reconciler"
	"github.com/flotilla-dev/flotilla/sources/gittest"
)

// agreementCase is a state of the cluster and of Git over which dry run, diff and sync must
// tell the same story, object by object.
type agreementCase struct {
	name string
	// spec is the App's (Path is set).
	spec config.AppSpec
	// before is what Git holds for the first sync; after is the commit under test (nil: same).
	before, after map[string]string
	// meddle changes the cluster between the first sync and the one under test.
	meddle func(t *testing.T, c *localfleet.Cluster, ns string)
	// want is what the sync under test does, by Kind/name; wantStatus its status.
	want       map[string]clusters.Action
	wantStatus reconciler.Status
	// reasons are words each object's reported reason holds, by Kind/name.
	reasons map[string][]string
	// check looks at the cluster after the sync under test.
	check func(t *testing.T, c *localfleet.Cluster, ns string)
}

const service9080 = `apiVersion: v1
kind: Service
metadata: {name: reviews}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
`

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27", imagePullPolicy: IfNotPresent}]
`

func agreementCases() []agreementCase {
	enforce := config.AppSpec{Drift: config.DriftPolicy{Mode: config.DriftEnforce}}
	warn := config.AppSpec{Drift: config.DriftPolicy{Mode: config.DriftWarn}}
	pinned := strings.Replace(configMap("pinned", "1"), "metadata: {name: pinned}", "metadata: {name: pinned, annotations: {flotilla.dev/prune: disabled}}", 1)
	scale := func(t *testing.T, c *localfleet.Cluster, ns string) {
		fleettest.Kubectl(t, c, "-n", ns, "scale", "deployment/web", "--replicas=5")
	}
	return []agreementCase{{
		name: "enforce takes a scaled field back", spec: enforce,
		before:  map[string]string{"web.yaml": deployment, "a.yaml": configMap("a", "1")},
		meddle:  scale,
		want:    map[string]clusters.Action{"Deployment/web": clusters.ActionConfigured, "ConfigMap/a": clusters.ActionUnchanged},
		reasons: map[string][]string{"Deployment/web": {"took back from kubectl: .spec.replicas"}},
		check: func(t *testing.T, c *localfleet.Cluster, ns string) {
			if got := fleettest.Kubectl(t, c, "-n", ns, "get", "deployment/web", "-o", "jsonpath={.spec.replicas}"); got != "2" {
				t.Errorf("replicas = %s after an enforcing sync, want 2 (Git's)", got)
			}
		},
	}, {
		name:   "an ignored manager's field is left to it, even with enforce",
		spec:   config.AppSpec{Drift: config.DriftPolicy{Mode: config.DriftEnforce, IgnoreManagers: []string{"kubectl"}}},
		before: map[string]string{"web.yaml": deployment, "a.yaml": configMap("a", "1")},
		// kubectl scale took the field from Flotilla (scale subresource): leaving it to kubectl
		// changes nothing.
		meddle:  scale,
		want:    map[string]clusters.Action{"Deployment/web": clusters.ActionUnchanged, "ConfigMap/a": clusters.ActionUnchanged},
		reasons: map[string][]string{"Deployment/web": {"left to kubectl: .spec.replicas"}},
		check: func(t *testing.T, c *localfleet.Cluster, ns string) {
			if got := fleettest.Kubectl(t, c, "-n", ns, "get", "deployment/web", "-o", "jsonpath={.spec.replicas}"); got != "5" {
				t.Errorf("replicas = %s, want 5: kubectl's, which the App ignores", got)
			}
		},
	}, {
		name:   "an ignored field is left to whoever set it",
		spec:   config.AppSpec{Drift: config.DriftPolicy{Mode: config.DriftEnforce, Ignore: []config.IgnoreRule{{Kind: "ConfigMap", Name: "a", Fields: []string{"/data/value"}}}}},
		before: map[string]string{"a.yaml": configMap("a", "1"), "b.yaml": configMap("b", "1")},
		meddle: func(t *testing.T, c *localfleet.Cluster, ns string) {
			for _, name := range []string{"a", "b"} {
				fleettest.Kubectl(t, c, "-n", ns, "patch", "configmap/"+name, "--field-manager=hotfix", "--type=merge", "-p", `{"data":{"value":"9"}}`)
			}
		},
		want:    map[string]clusters.Action{"ConfigMap/a": clusters.ActionConfigured, "ConfigMap/b": clusters.ActionConfigured},
		reasons: map[string][]string{"ConfigMap/a": {"left to hotfix: .data.value"}, "ConfigMap/b": {"took back from hotfix: .data.value"}},
		check: func(t *testing.T, c *localfleet.Cluster, ns string) {
			got := fleettest.Kubectl(t, c, "-n", ns, "get", "configmaps", "a", "b", "-o", "jsonpath={.items[*].data.value}")
			if got != "9 1" {
				t.Errorf("values of a and b = %q, want 9 (ignored, left) and 1 (taken back)", got)
			}
		},
	}, {
		name: "warn keeps the conflict", spec: warn,
		before: map[string]string{"web.yaml": deployment, "a.yaml": configMap("a", "1")},
		meddle: scale, wantStatus: reconciler.StatusFailed,
		want:    map[string]clusters.Action{"Deployment/web": clusters.ActionFailed, "ConfigMap/a": clusters.ActionUnchanged},
		reasons: map[string][]string{"Deployment/web": {`conflict with "kubectl"`, "--force-conflicts"}},
		check: func(t *testing.T, c *localfleet.Cluster, ns string) {
			if got := fleettest.Kubectl(t, c, "-n", ns, "get", "deployment/web", "-o", "jsonpath={.spec.replicas}"); got != "5" {
				t.Errorf("replicas = %s after a warning sync, want 5 (left to kubectl scale)", got)
			}
		},
	}, {
		name: "a list-map key changed by kubectl edit is healed", spec: enforce,
		before: map[string]string{"svc.yaml": service9080},
		meddle: func(t *testing.T, c *localfleet.Cluster, ns string) {
			fleettest.Kubectl(t, c, "-n", ns, "patch", "service/reviews", "--field-manager=kubectl-edit", "--type=json", "-p", `[{"op":"replace","path":"/spec/ports/0/port","value":9081}]`)
		},
		want:    map[string]clusters.Action{"Service/reviews": clusters.ActionConfigured},
		reasons: map[string][]string{"Service/reviews": {"wrote Git's .spec.ports", "kubectl-edit"}},
		check: func(t *testing.T, c *localfleet.Cluster, ns string) {
			if got := fleettest.Kubectl(t, c, "-n", ns, "get", "service/reviews", "-o", "jsonpath={.spec.ports[*].port}"); got != "9080" {
				t.Errorf("ports = %s after the heal, want 9080 alone", got)
			}
			// The update that wrote the list must not keep fields Git may remove later.
			if got := fleettest.Kubectl(t, c, "-n", ns, "get", "service/reviews", "-o", "jsonpath={range .metadata.managedFields[*]}{.manager}/{.operation} {end}"); strings.Contains(got, clusters.FieldManager+"/Update") {
				t.Errorf("managedFields after the heal: %s, want no update entry of Flotilla's", got)
			}
		},
	}, {
		name:   "a value the API server refuses fails that object alone",
		before: map[string]string{"web.yaml": deployment, "a.yaml": configMap("a", "1")},
		after:  map[string]string{"web.yaml": strings.Replace(deployment, "IfNotPresent", "Sometimes", 1), "a.yaml": configMap("a", "2")},
		want:   map[string]clusters.Action{"Deployment/web": clusters.ActionFailed, "ConfigMap/a": clusters.ActionConfigured}, wantStatus: reconciler.StatusFailed,
	}, {
		// The schema check passes it (the field's type is right); only the API server knows
		// the value is not allowed, so a dry run must ask it about a new object too.
		name: "a new object the API server refuses fails alone, and nothing is pruned", spec: config.AppSpec{Sync: config.SyncPolicy{Prune: true, MaxPrunePercent: 100}},
		before: map[string]string{"a.yaml": configMap("a", "1"), "gone.yaml": configMap("gone", "1")},
		after:  map[string]string{"a.yaml": configMap("a", "1"), "web.yaml": strings.Replace(deployment, "IfNotPresent", "Sometimes", 1)},
		want:   map[string]clusters.Action{"Deployment/web": clusters.ActionFailed, "ConfigMap/a": clusters.ActionUnchanged}, wantStatus: reconciler.StatusFailed,
		reasons: map[string][]string{"Deployment/web": {"imagePullPolicy", "Sometimes"}},
		check: func(t *testing.T, c *localfleet.Cluster, ns string) {
			if got := fleettest.Kubectl(t, c, "-n", ns, "get", "configmaps", "-l", clusters.LabelApp+"="+ns, "-o", "jsonpath={.items[*].metadata.name}"); got != "a gone" {
				t.Errorf("the App's configmaps after a failed sync: %q, want a gone (nothing pruned)", got)
			}
		},
	}, {
		// Adopting takes over the fields of the object's creator, but not those of a manager
		// the App ignores (an autoscaler's replicas): the first apply must not be forced.
		name:   "adopting leaves an ignored manager's field to it and takes the rest",
		spec:   config.AppSpec{Sync: config.SyncPolicy{Adopt: true}, Drift: config.DriftPolicy{Mode: config.DriftEnforce, IgnoreManagers: []string{"hpa"}}},
		before: map[string]string{"a.yaml": configMap("a", "1")},
		after:  map[string]string{"a.yaml": configMap("a", "1"), "web.yaml": deployment},
		meddle: func(t *testing.T, c *localfleet.Cluster, ns string) {
			file := filepath.Join(t.TempDir(), "web.yaml")
			if err := os.WriteFile(file, []byte(strings.Replace(deployment, "nginx:1.27", "nginx:1.26", 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			fleettest.Kubectl(t, c, "-n", ns, "apply", "--server-side", "--field-manager=setup", "-f", file)
			fleettest.Kubectl(t, c, "-n", ns, "patch", "deployment/web", "--field-manager=hpa", "--type=merge", "-p", `{"spec":{"replicas":5}}`)
		},
		want:    map[string]clusters.Action{"Deployment/web": clusters.ActionConfigured, "ConfigMap/a": clusters.ActionUnchanged},
		reasons: map[string][]string{"Deployment/web": {"left to hpa: .spec.replicas", "took over from setup", ".image"}},
		check: func(t *testing.T, c *localfleet.Cluster, ns string) {
			got := fleettest.Kubectl(t, c, "-n", ns, "get", "deployment/web", "-o", "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image}")
			if got != "5 nginx:1.27" {
				t.Errorf("replicas and image after adopting: %q, want 5 (hpa's, ignored) and nginx:1.27 (Git's, taken over)", got)
			}
		},
	}, {
		name: "objects of another App fail and nothing is pruned", spec: config.AppSpec{Sync: config.SyncPolicy{Prune: true, MaxPrunePercent: 100}},
		before: map[string]string{"a.yaml": configMap("a", "1"), "b.yaml": configMap("b", "1")},
		after:  map[string]string{"other.yaml": configMap("other", "1"), "c.yaml": configMap("c", "1")},
		meddle: func(t *testing.T, c *localfleet.Cluster, ns string) {
			fleettest.Kubectl(t, c, "-n", ns, "create", "configmap", "other", "--from-literal=value=theirs")
			fleettest.Kubectl(t, c, "-n", ns, "label", "configmap", "other", clusters.LabelApp+"=another-app")
		},
		want: map[string]clusters.Action{"ConfigMap/other": clusters.ActionFailed, "ConfigMap/c": clusters.ActionCreated}, wantStatus: reconciler.StatusFailed,
		check: func(t *testing.T, c *localfleet.Cluster, ns string) {
			if got := fleettest.Kubectl(t, c, "-n", ns, "get", "configmaps", "-l", clusters.LabelApp+"="+ns, "-o", "jsonpath={.items[*].metadata.name}"); got != "a b c" {
				t.Errorf("the App's configmaps after a failed sync: %q, want a b c (nothing pruned)", got)
			}
		},
	}, {
		name: "an object kept by prune: disabled is released", spec: config.AppSpec{Sync: config.SyncPolicy{Prune: true, MaxPrunePercent: 100}},
		before:  map[string]string{"a.yaml": configMap("a", "1"), "pinned.yaml": pinned, "gone.yaml": configMap("gone", "1")},
		after:   map[string]string{"a.yaml": configMap("a", "1")},
		want:    map[string]clusters.Action{"ConfigMap/a": clusters.ActionUnchanged, "ConfigMap/pinned": clusters.ActionSkipped, "ConfigMap/gone": clusters.ActionPruned},
		reasons: map[string][]string{"ConfigMap/pinned": {"flotilla.dev/prune: disabled"}},
		check: func(t *testing.T, c *localfleet.Cluster, ns string) {
			got := fleettest.Kubectl(t, c, "-n", ns, "get", "configmap/pinned", "-o", "jsonpath={.metadata.labels}|{.metadata.annotations}|{.metadata.managedFields[*].manager}")
			for _, managed := range []string{clusters.LabelManagedBy, clusters.LabelApp, clusters.AnnotationDesiredHash, "|" + clusters.FieldManager} {
				if strings.Contains(got, managed) {
					t.Errorf("the kept object still looks managed (%s): labels|annotations|managers = %s", managed, got)
				}
			}
		},
	}}
}

// TestDryRunDiffAndSyncAgree: over the same cases, sync --dry-run predicts exactly what the sync
// then does to each object, diff lists exactly the objects the sync changes or fails on, and
// after the sync diff finds nothing left to do and another sync changes nothing (unless the
// sync failed).
func TestDryRunDiffAndSyncAgree(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	for _, tc := range agreementCases() {
		t.Run(tc.name, func(t *testing.T) {
			ns := fleettest.Namespace(t, c)
			repo := appRepo(t, ns, tc.before)
			tc.spec.Path = "app"
			cfg := fleetConfig(fleet, repo.FileURL(), tc.spec, ns)
			opts := reconciler.Options{Cluster: "dev"}
			s := reconciler.NewSyncer(t.TempDir())
			syncOK(t, s, cfg, opts)
			if tc.after != nil {
				writeApp(t, repo, ns, tc.after)
			}
			if tc.meddle != nil {
				tc.meddle(t, c, ns)
			}
			wantStatus := tc.wantStatus
			if wantStatus == "" {
				wantStatus = reconciler.StatusSynced
			}

			planned := syncOne(t, s, cfg, reconciler.Options{Cluster: "dev", DryRun: true})
			diffed := diffOne(t, s, cfg)
			synced := syncOne(t, s, cfg, opts)
			if got := actions(synced); !cmp.Equal(got, tc.want) || synced.Status != wantStatus {
				t.Fatalf("sync: status %s (want %s), error %q; actions (-want +got):\n%s", synced.Status, wantStatus, synced.Error, cmp.Diff(tc.want, got))
			}
			if d := cmp.Diff(actions(synced), actions(planned)); d != "" || planned.Status != dryRunStatus(wantStatus) {
				t.Errorf("dry run (status %s, error %q) disagrees with the sync (-sync +dry run):\n%s", planned.Status, planned.Error, d)
			}
			if d := cmp.Diff(changed(actions(synced)), diffActions(diffed)); d != "" {
				t.Errorf("diff disagrees with the sync (-sync +diff):\n%s", d)
			}
			for _, ch := range synced.Changes {
				for _, word := range tc.reasons[ch.ID.Kind+"/"+ch.ID.Name] {
					if !strings.Contains(ch.Reason, word) {
						t.Errorf("%s %s: reason %q, want it to say %q", ch.ID, ch.Action, ch.Reason, word)
					}
				}
			}
			if tc.check != nil {
				tc.check(t, c, ns)
			}
			if wantStatus != reconciler.StatusSynced {
				return
			}
			if again := diffOne(t, s, cfg); len(again.Objects) != 0 || again.Error != "" {
				t.Errorf("diff after the sync: %+v, want no differences", again)
			}
			for name, a := range actions(syncOne(t, s, cfg, opts)) {
				if a != clusters.ActionUnchanged {
					t.Errorf("sync after the sync: %s %s, want unchanged", name, a)
				}
			}
		})
	}
}

// TestEnforceReportsWhoLostWhichField: a sync that takes fields back names the manager and field.
func TestEnforceReportsWhoLostWhichField(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	repo := appRepo(t, ns, map[string]string{"web.yaml": deployment})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app", Drift: config.DriftPolicy{Mode: config.DriftEnforce}}, ns)
	s := reconciler.NewSyncer(t.TempDir())
	syncOK(t, s, cfg, reconciler.Options{Cluster: "dev"})
	fleettest.Kubectl(t, c, "-n", ns, "scale", "deployment/web", "--replicas=5")
	r := syncOne(t, s, cfg, reconciler.Options{Cluster: "dev"})
	if len(r.Changes) != 1 || r.Changes[0].Reason != "took back from kubectl: .spec.replicas" {
		t.Errorf("changes %+v, want the Deployment configured with reason naming kubectl (kubectl scale's manager) and .spec.replicas", r.Changes)
	}
}

func syncOne(t *testing.T, s *reconciler.Syncer, cfg *config.Config, opts reconciler.Options) reconciler.Result {
	t.Helper()
	results, err := s.Sync(context.Background(), cfg, opts)
	if err != nil || len(results) != 1 {
		t.Fatalf("sync: %d results, %v", len(results), err)
	}
	return results[0]
}

func diffOne(t *testing.T, s *reconciler.Syncer, cfg *config.Config) reconciler.ClusterDiff {
	t.Helper()
	diffs, err := s.Diff(context.Background(), cfg, reconciler.Options{Cluster: "dev"})
	if err != nil || len(diffs) != 1 {
		t.Fatalf("diff: %d results, %v", len(diffs), err)
	}
	if diffs[0].Error != "" {
		t.Fatalf("diff failed for the whole cluster: %s", diffs[0].Error)
	}
	return diffs[0]
}

// actions are a result's changes by Kind/name.
func actions(r reconciler.Result) map[string]clusters.Action {
	got := map[string]clusters.Action{}
	for _, ch := range r.Changes {
		got[ch.ID.Kind+"/"+ch.ID.Name] = ch.Action
	}
	return got
}

// changed leaves out what is unchanged: what a diff lists.
func changed(all map[string]clusters.Action) map[string]clusters.Action {
	out := map[string]clusters.Action{}
	for name, a := range all {
		if a != clusters.ActionUnchanged {
			out[name] = a
		}
	}
	return out
}

// diffActions are a diff's objects by Kind/name, as the sync would report them.
func diffActions(d reconciler.ClusterDiff) map[string]clusters.Action {
	got := map[string]clusters.Action{}
	for _, o := range d.Objects {
		a := o.Action
		if o.Blocked {
			a = clusters.ActionFailed
		}
		got[o.ID.Kind+"/"+o.ID.Name] = a
	}
	return got
}

func dryRunStatus(sync reconciler.Status) reconciler.Status {
	if sync == reconciler.StatusSynced {
		return reconciler.StatusPlanned
	}
	return sync
}

// TestSchemaErrorInAPatchNamesThePatch: a field an overlay's patch adds, refused by the
// cluster's schema, is blamed on the patch file (and the base it patches), not on the base.
func TestSchemaErrorInAPatchNamesThePatch(t *testing.T) {
	fleet := shared.Fleet(t)
	ns := fleettest.Namespace(t, fleet.Clusters[0])
	repo := gittest.NewRepo(t, t.TempDir(), "fleet")
	repo.Write(map[string]string{
		"base/kustomization.yaml":         "resources: [app.yaml]\n",
		"base/app.yaml":                   deployment,
		"overlays/dev/kustomization.yaml": "namespace: " + ns + "\nresources: [../../base]\npatches: [{path: patch.yaml}]\n",
		"overlays/dev/patch.yaml":         "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replica: 3}\n",
	})
	repo.Commit("an overlay with a typo")
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "overlays/dev"}, ns)
	r := syncOne(t, reconciler.NewSyncer(t.TempDir()), cfg, reconciler.Options{Cluster: "dev"})
	want := "overlays/dev/patch.yaml (patch of base/app.yaml): Deployment.apps/" + ns + "/web: .spec.replica: field not declared in schema"
	if r.Status != reconciler.StatusFailed || !strings.Contains(r.Error, want) {
		t.Fatalf("status %s, error %q; want Failed with %q", r.Status, r.Error, want)
	}
}
