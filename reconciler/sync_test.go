package reconciler_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/clusters/localfleet"
	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/reconciler"
	"github.com/flotilla-dev/flotilla/sources/gittest"
	"github.com/flotilla-dev/flotilla/sources/render"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

var shared = fleettest.Shared{Options: localfleet.Options{Clusters: 3, NamePrefix: "local", Istio: true}}

func TestMain(m *testing.M) { os.Exit(shared.Main(m)) }

var envs = []string{"dev", "staging", "prod"}

// fleetConfig targets the shared fleet's clusters (labelled env=dev, staging, prod) with one App.
func fleetConfig(fleet *localfleet.Fleet, repoURL string, app config.AppSpec, name string) *config.Config {
	cfg := &config.Config{Sources: []config.Source{{
		Metadata: config.ObjectMeta{Name: "fleet"},
		Spec:     config.SourceSpec{URL: repoURL, Ref: config.GitRef{Branch: "main"}},
	}}}
	for i, c := range fleet.Clusters {
		cfg.Clusters = append(cfg.Clusters, config.Cluster{
			Metadata: config.ObjectMeta{Name: envs[i], Labels: map[string]string{"env": envs[i]}},
			Spec:     config.ClusterSpec{Kubeconfig: fleet.Kubeconfig, Context: c.Name},
		})
	}
	app.Source = "fleet"
	cfg.Apps = []config.App{{Metadata: config.ObjectMeta{Name: name}, Spec: app}}
	return cfg
}

func syncOK(t *testing.T, s *reconciler.Syncer, cfg *config.Config, opts reconciler.Options) []reconciler.Result {
	t.Helper()
	results, err := s.Sync(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Status != reconciler.StatusSynced && r.Status != reconciler.StatusHealthy {
			t.Fatalf("%s/%s: %s: %s", r.Cluster, r.App, r.Status, r.Error)
		}
	}
	return results
}

// writes returns how many write requests each cluster's client has sent so far.
func writes(t *testing.T, s *reconciler.Syncer, cfg *config.Config) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for i := range cfg.Clusters {
		target, err := s.Target(&cfg.Clusters[i])
		if err != nil {
			t.Fatal(err)
		}
		_, w := target.Requests().Requests()
		out[cfg.Clusters[i].Metadata.Name] = w
	}
	return out
}

func TestExamplesSyncToThreeClusters(t *testing.T) {
	fleet := shared.Fleet(t)
	repo := gittest.NewRepo(t, t.TempDir(), "fleet")
	copyExamples(t, repo)
	repo.Commit("examples")
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "overlays/{{ .Cluster.Labels.env }}", Sync: config.SyncPolicy{Prune: true}}, "bookinfo")
	s := reconciler.NewSyncer(t.TempDir())

	results := syncOK(t, s, cfg, reconciler.Options{Wait: true})
	if len(results) != 3 {
		t.Fatalf("%d results, want 3", len(results))
	}
	for i, env := range envs {
		cluster := fleet.Clusters[i]
		want := renderedIDs(t, "../examples", "overlays/"+env)
		got := liveIDs(t, cluster, "bookinfo")
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s holds:\n%s\nwant exactly its overlay's objects:\n%s", env, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if r := results[indexOf(results, env)]; r.Status != reconciler.StatusHealthy || r.Changes.Count(clusters.ActionCreated) != len(want) {
			t.Errorf("%s: status %s, %d created; want Healthy, %d created", env, r.Status, r.Changes.Count(clusters.ActionCreated), len(want))
		}
	}
	weights := fleettest.Kubectl(t, fleet.Clusters[1], "-n", "bookinfo", "get", "virtualservice/reviews", "-o", "jsonpath={.spec.http[0].route[*].weight}")
	if weights != "90 10 0" {
		t.Errorf("staging reviews weights = %q, want the staging overlay's 90 10 0", weights)
	}

	// A second pass finds nothing to do and writes nothing.
	before := writes(t, s, cfg)
	again := syncOK(t, s, cfg, reconciler.Options{})
	after := writes(t, s, cfg)
	for _, r := range again {
		if r.Changes.Count(clusters.ActionUnchanged) != len(r.Changes) {
			t.Errorf("%s: second sync changed something: %+v", r.Cluster, r.Changes)
		}
		if after[r.Cluster] != before[r.Cluster] {
			t.Errorf("%s: second sync sent %d writes, want 0", r.Cluster, after[r.Cluster]-before[r.Cluster])
		}
	}
}

func TestChangedObjectIsTheOnlyWrite(t *testing.T) {
	fleet := shared.Fleet(t)
	ns := fleettest.Namespace(t, fleet.Clusters...)
	repo := gittest.NewRepo(t, t.TempDir(), "fleet")
	files := map[string]string{"app/kustomization.yaml": "namespace: " + ns + "\nresources:\n"}
	for i := range 20 {
		name := fmt.Sprintf("cm-%02d.yaml", i)
		files["app/kustomization.yaml"] += "- " + name + "\n"
		files["app/"+name] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%02d}\ndata: {value: \"1\"}\n", i)
	}
	repo.Write(files)
	repo.Commit("twenty ConfigMaps")
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app"}, ns)
	s := reconciler.NewSyncer(t.TempDir())
	syncOK(t, s, cfg, reconciler.Options{})

	repo.Write(map[string]string{"app/cm-07.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-07}\ndata: {value: \"2\"}\n"})
	repo.Commit("change one")
	before := writes(t, s, cfg)
	var mu sync.Mutex
	progress := map[string][]string{}
	observe := reconciler.ObserverFunc(func(e reconciler.Event) {
		if e.Stage == reconciler.StageApply {
			mu.Lock()
			progress[e.Cluster] = append(progress[e.Cluster], e.Message)
			mu.Unlock()
		}
	})
	for _, r := range syncOK(t, s, cfg, reconciler.Options{Observer: observe}) {
		// Progress says what will be written, not how many objects there are.
		if want := []string{"20 objects: 1 to write"}; !slices.Equal(progress[r.Cluster], want) {
			t.Errorf("%s: apply progress %q, want %q", r.Cluster, progress[r.Cluster], want)
		}
		if r.Changes.Count(clusters.ActionConfigured) != 1 || r.Changes.Count(clusters.ActionUnchanged) != 19 {
			t.Errorf("%s: %+v, want 1 configured and 19 unchanged", r.Cluster, r.Changes)
		}
		// The object only: a new value changes neither the inventory's list of objects nor
		// which fields Flotilla owns.
		if w := writes(t, s, cfg)[r.Cluster] - before[r.Cluster]; w != 1 {
			t.Errorf("%s: %d writes for one changed object, want 1", r.Cluster, w)
		}
	}
	for _, c := range fleet.Clusters {
		if v := fleettest.Kubectl(t, c, "-n", ns, "get", "configmap/cm-07", "-o", "jsonpath={.data.value}"); v != "2" {
			t.Errorf("%s: cm-07 value = %q, want 2", c.Name, v)
		}
	}
}

func copyExamples(t *testing.T, repo *gittest.Repo) {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir("../examples", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("../examples", path)
		files[rel] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	repo.Write(files)
}

func indexOf(results []reconciler.Result, cluster string) int {
	for i, r := range results {
		if r.Cluster == cluster {
			return i
		}
	}
	return -1
}

// renderedIDs renders dir under root and returns kind/namespace/name of each object, sorted.
func renderedIDs(t *testing.T, root, dir string) []string {
	t.Helper()
	view, err := tree.FromDir(root, tree.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	m, err := render.Render(context.Background(), view, dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, obj := range m.Objects {
		ids = append(ids, strings.ToLower(obj.GetKind())+"/"+obj.GetNamespace()+"/"+obj.GetName())
	}
	sort.Strings(ids)
	return ids
}

// liveIDs asks kubectl for every object labelled as the App's, as kind/namespace/name, sorted.
func liveIDs(t *testing.T, c *localfleet.Cluster, app string) []string {
	t.Helper()
	kinds := "namespaces,deployments,services,serviceaccounts,configmaps,secrets,gateways.networking.istio.io,virtualservices.networking.istio.io,destinationrules.networking.istio.io,peerauthentications.security.istio.io,authorizationpolicies.security.istio.io"
	out := fleettest.Kubectl(t, c, "get", kinds, "--all-namespaces", "-l", clusters.LabelApp+"="+app,
		"-o", `jsonpath={range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name}{"\n"}{end}`)
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line != "" {
			kind, rest, _ := strings.Cut(line, "/")
			ids = append(ids, strings.ToLower(kind)+"/"+rest)
		}
	}
	sort.Strings(ids)
	return ids
}

// TestEachSourceFetchedOncePerPass: two Apps of one Source on three clusters are six pairs,
// and one fetch.
func TestEachSourceFetchedOncePerPass(t *testing.T) {
	fleet := shared.Fleet(t)
	ns := fleettest.Namespace(t, fleet.Clusters...)
	repo := appRepo(t, ns, map[string]string{"a.yaml": configMap("a", "1")})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app"}, ns)
	second := cfg.Apps[0]
	second.Metadata.Name = ns + "-b"
	cfg.Apps = append(cfg.Apps, second)
	var mu sync.Mutex
	fetches := 0
	observer := reconciler.ObserverFunc(func(e reconciler.Event) {
		if e.Stage == reconciler.StageFetch && strings.HasPrefix(e.Message, "fetching Source/") {
			mu.Lock()
			fetches++
			mu.Unlock()
		}
	})
	results, err := reconciler.NewSyncer(t.TempDir()).Sync(context.Background(), cfg, reconciler.Options{DryRun: true, Observer: observer})
	if err != nil || len(results) != 6 {
		t.Fatalf("dry run: %d results, %v", len(results), err)
	}
	if fetches != 1 {
		t.Errorf("Source/fleet fetched %d times for six pairs, want once", fetches)
	}
}
