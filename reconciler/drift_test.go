package reconciler_test

import (
	"testing"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/reconciler"
)

// A sync sends no request for an object whose desired hash and owned fields are as recorded.
// Each way of touching what Flotilla set must still be noticed and repaired by the next sync,
// including removals, which leave no trace in the other manager's managedFields entry.
func TestDriftIsRepairedByTheNextSync(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	cases := []struct {
		name  string
		drift []string // kubectl arguments, namespace added
		want  clusters.Action
	}{
		{"key removed", []string{"patch", "configmap", "a", "--type=json", "-p", `[{"op":"remove","path":"/data/value"}]`}, clusters.ActionConfigured},
		{"label removed", []string{"label", "configmap", "a", "team-"}, clusters.ActionConfigured},
		{"annotation removed", []string{"annotate", "configmap", "a", "flotilla.dev/desired-hash-"}, clusters.ActionConfigured},
		{"object deleted", []string{"delete", "configmap", "a"}, clusters.ActionCreated},
		{"managed fields reset", []string{"patch", "configmap", "a", "--type=merge", "-p", `{"metadata":{"managedFields":[{}]}}`}, clusters.ActionConfigured},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns := fleettest.Namespace(t, c)
			repo := appRepo(t, ns, map[string]string{"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: {team: web}}\ndata: {value: from-git}\n"})
			cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app"}, ns)
			opts := reconciler.Options{Cluster: "dev"}
			s := reconciler.NewSyncer(t.TempDir())
			syncOK(t, s, cfg, opts)
			if got := action(t, syncOK(t, s, cfg, opts)[0], "a", ns); got != clusters.ActionUnchanged {
				t.Fatalf("second sync without drift: %s, want unchanged", got)
			}

			fleettest.Kubectl(t, c, append([]string{"-n", ns}, tc.drift...)...)
			if got := action(t, syncOK(t, s, cfg, opts)[0], "a", ns); got != tc.want {
				t.Errorf("sync after drift: %s, want %s", got, tc.want)
			}
			if v := fleettest.Kubectl(t, c, "-n", ns, "get", "configmap/a", "-o", "jsonpath={.data.value}/{.metadata.labels.team}"); v != "from-git/web" {
				t.Errorf("after the repairing sync: value/label = %q, want from-git/web", v)
			}
			if got := action(t, syncOK(t, s, cfg, opts)[0], "a", ns); got != clusters.ActionUnchanged {
				t.Errorf("sync after the repair: %s, want unchanged", got)
			}
		})
	}
}

func action(t *testing.T, r reconciler.Result, name, ns string) clusters.Action {
	t.Helper()
	id := object.ID{Kind: "ConfigMap", Namespace: ns, Name: name}
	for _, ch := range r.Changes {
		if ch.ID == id {
			return ch.Action
		}
	}
	t.Fatalf("no change for %s in %+v", id, r.Changes)
	return ""
}
