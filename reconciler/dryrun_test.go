package reconciler_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/reconciler"
)

// TestDryRunPlansWithoutWriting: sync --dry-run reports what a sync would do to each object —
// created (also in a Namespace the same render brings), configured, unchanged, pruned, or
// failed on a conflict — and the cluster, as kubectl sees it, is untouched.
func TestDryRunPlansWithoutWriting(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c) + "-planned" // does not exist until the real sync
	t.Cleanup(func() { _, _ = fleettest.KubectlResult(c, "delete", "namespace", ns, "--wait=false") })
	namespace := "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + ns + "}\n"
	repo := appRepo(t, ns, map[string]string{"ns.yaml": namespace, "a.yaml": configMap("a", "1"), "b.yaml": configMap("b", "1")})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app", Sync: config.SyncPolicy{Prune: true}}, ns)
	s := reconciler.NewSyncer(t.TempDir())
	dryRun := reconciler.Options{Cluster: "dev", DryRun: true}
	planned := func(opts reconciler.Options, wantStatus reconciler.Status, want map[string]clusters.Action) reconciler.Result {
		t.Helper()
		results, err := s.Sync(context.Background(), cfg, opts)
		if err != nil {
			t.Fatal(err)
		}
		r := results[0]
		got := map[string]clusters.Action{}
		for _, ch := range r.Changes {
			got[ch.ID.Kind+"/"+ch.ID.Name] = ch.Action
		}
		if r.Status != wantStatus || !cmp.Equal(got, want) {
			t.Fatalf("dry run: status %s (error %q), changes (-want +got):\n%s", r.Status, r.Error, cmp.Diff(want, got))
		}
		return r
	}

	planned(dryRun, reconciler.StatusPlanned, map[string]clusters.Action{"Namespace/" + ns: clusters.ActionCreated, "ConfigMap/a": clusters.ActionCreated, "ConfigMap/b": clusters.ActionCreated})
	if _, err := fleettest.KubectlResult(c, "get", "namespace", ns); err == nil {
		t.Fatal("the dry run created the Namespace")
	}
	if _, err := fleettest.KubectlResult(c, "-n", clusters.InventoryNamespace, "get", "configmap", "inventory-"+ns); err == nil {
		t.Error("a dry run wrote an inventory")
	}

	syncOK(t, s, cfg, reconciler.Options{Cluster: "dev"})
	writeApp(t, repo, ns, map[string]string{"ns.yaml": namespace, "a.yaml": configMap("a", "2"), "c.yaml": configMap("c", "1")})
	planned(dryRun, reconciler.StatusPlanned, map[string]clusters.Action{"Namespace/" + ns: clusters.ActionUnchanged, "ConfigMap/a": clusters.ActionConfigured, "ConfigMap/b": clusters.ActionPruned, "ConfigMap/c": clusters.ActionCreated})
	if got := fleettest.Kubectl(t, c, "-n", ns, "get", "configmaps", "-l", clusters.LabelApp, "-o", "jsonpath={range .items[*]}{.metadata.name}={.data.value} {end}"); got != "a=1 b=1 " {
		t.Errorf("after the dry run the cluster holds %q, want a=1 b=1 as before", got)
	}

	fleettest.Kubectl(t, c, "-n", ns, "patch", "configmap", "a", "--field-manager=hotfix", "--type=merge", "-p", `{"data":{"value":"9"}}`)
	// A sync that fails on an object prunes nothing: the dry run says so too.
	r := planned(dryRun, reconciler.StatusFailed, map[string]clusters.Action{"Namespace/" + ns: clusters.ActionUnchanged, "ConfigMap/a": clusters.ActionFailed, "ConfigMap/c": clusters.ActionCreated})
	if !strings.Contains(r.Error, `conflict with "hotfix"`) || !strings.Contains(r.Error, "--force-conflicts") {
		t.Errorf("dry run over a conflict: error %q, want it to name the hotfix manager and --force-conflicts", r.Error)
	}
	force := dryRun
	force.ForceConflicts = true
	planned(force, reconciler.StatusPlanned, map[string]clusters.Action{"Namespace/" + ns: clusters.ActionUnchanged, "ConfigMap/a": clusters.ActionConfigured, "ConfigMap/b": clusters.ActionPruned, "ConfigMap/c": clusters.ActionCreated})
	if got := fleettest.Kubectl(t, c, "-n", ns, "get", "configmap", "a", "-o", "jsonpath={.data.value}"); got != "9" {
		t.Errorf("configmap a = %q after forced dry runs, want 9 (the hotfix) untouched", got)
	}
}
