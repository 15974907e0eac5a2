package reconciler_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/clusters/localfleet"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/internal/gctune"
	"github.com/flotilla-dev/flotilla/reconciler"
	"github.com/flotilla-dev/flotilla/sources/gittest"
	"github.com/flotilla-dev/flotilla/sources/render"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

// The sync benchmarks run against the shared three-cluster fleet with 300 objects per cluster:
// 150 ConfigMaps and 150 Deployments (one replica each), in a namespace of their own.
//
//	go test -run '^$' -bench . -benchtime 5x ./reconciler
const benchObjects = 300

// everyConfigMap, as benchFiles' changed, changes the data of every ConfigMap.
const everyConfigMap = -2

// benchFiles is an app/ kustomization of benchObjects objects in namespace ns; version changes
// the data of ConfigMap number changed (of every one, with everyConfigMap; of none, with -1).
func benchFiles(ns string, changed, version int) map[string]string {
	return benchFilesOf(ns, benchObjects, changed, version)
}

// benchFilesOf is benchFiles with n objects.
func benchFilesOf(ns string, n, changed, version int) map[string]string {
	var objects strings.Builder
	fmt.Fprintf(&objects, "apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n", ns)
	for i := range n / 2 {
		value := 0
		if i == changed || changed == everyConfigMap {
			value = version
		}
		fmt.Fprintf(&objects, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings-%d}\ndata: {index: \"%d\", value: \"%d\"}\n", i, i, value)
		fmt.Fprintf(&objects, `---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-%[1]d}
spec:
  replicas: 1
  selector: {matchLabels: {app: web-%[1]d}}
  template:
    metadata: {labels: {app: web-%[1]d}}
    spec: {containers: [{name: web, image: "example/web:1"}]}
`, i)
	}
	return map[string]string{"app/kustomization.yaml": "namespace: " + ns + "\nresources: [objects.yaml]\n", "app/objects.yaml": objects.String()}
}

// deleteNamespace deletes ns in every cluster and waits until it is gone, so that what comes next
// does not run beside the deletion of its objects.
func deleteNamespace(fleet *localfleet.Fleet, ns string) {
	var deletes []*exec.Cmd
	for _, c := range fleet.Clusters {
		cmd := exec.Command("kubectl", "--kubeconfig", c.Kubeconfig, "delete", "namespace", ns, "--ignore-not-found", "--timeout=5m")
		if cmd.Start() == nil {
			deletes = append(deletes, cmd)
		}
	}
	for _, cmd := range deletes {
		_ = cmd.Wait()
	}
}

type benchSetup struct {
	fleet  *localfleet.Fleet
	ns     string
	syncer *reconciler.Syncer
	cfg    *config.Config
	repo   *gittest.Repo
}

// tuneGC sets the garbage collector as the flotilla command does (internal/gctune), for the
// length of the benchmark.
func tuneGC(b *testing.B) {
	gctune.Apply()
	b.Cleanup(func() {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
	})
}

// benchRuns numbers the namespaces of benchmark runs: a namespace of an earlier run (-count)
// may still be terminating.
var benchRuns atomic.Int64

func newBenchSetup(b *testing.B, prefix string) *benchSetup {
	return newBenchSetupOf(b, prefix, benchObjects)
}

// newBenchSetupOf is newBenchSetup with n objects per cluster.
func newBenchSetupOf(b *testing.B, prefix string, n int) *benchSetup {
	b.Helper()
	ns := fmt.Sprintf("%s-%d", prefix, benchRuns.Add(1))
	fleet := shared.Fleet(b)
	repo := gittest.NewRepo(b, b.TempDir(), "fleet")
	repo.Write(benchFilesOf(ns, n, -1, 0))
	repo.Commit("bench")
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app"}, ns)
	b.Cleanup(func() { deleteNamespace(fleet, ns) })
	return &benchSetup{fleet: fleet, ns: ns, syncer: reconciler.NewSyncer(b.TempDir()), cfg: cfg, repo: repo}
}

func (s *benchSetup) sync(b *testing.B) []reconciler.Result {
	return s.syncWith(b, reconciler.Options{})
}

// settle is the first sync of a benchmark that measures later ones: it waits until every
// Deployment is available, so that the controllers rolling them out are quiet when the clock
// runs.
func (s *benchSetup) settle(b *testing.B) {
	s.syncWith(b, reconciler.Options{Wait: true})
}

func (s *benchSetup) syncWith(b *testing.B, opts reconciler.Options) []reconciler.Result {
	results, err := s.syncer.Sync(context.Background(), s.cfg, opts)
	if err != nil {
		b.Fatal(err)
	}
	want := reconciler.StatusSynced
	if opts.Wait {
		want = reconciler.StatusHealthy
	}
	for _, r := range results {
		if r.Status != want {
			b.Fatalf("%s: %s: %s", r.Cluster, r.Status, r.Error)
		}
	}
	return results
}

// requests returns the requests and writes sent to each cluster so far, summed.
func (s *benchSetup) requests(b *testing.B) (all, writes int64) {
	for i := range s.cfg.Clusters {
		target, err := s.syncer.Target(&s.cfg.Clusters[i])
		if err != nil {
			b.Fatal(err)
		}
		a, w := target.Requests().Requests()
		all, writes = all+a, writes+w
	}
	return all, writes
}

func (s *benchSetup) report(b *testing.B, all, writes int64) {
	clustersN := float64(len(s.cfg.Clusters))
	b.ReportMetric(float64(all)/float64(b.N)/clustersN, "requests/cluster/op")
	b.ReportMetric(float64(writes)/float64(b.N)/clustersN, "writes/cluster/op")
}

// BenchmarkSyncInitial: 3 clusters × 300 new objects, render included.
func BenchmarkSyncInitial(b *testing.B) {
	tuneGC(b)
	var all, writes int64
	for b.Loop() {
		b.StopTimer()
		s := newBenchSetup(b, "bench-initial")
		a0, w0 := s.requests(b)
		b.StartTimer()
		results := s.sync(b)
		b.StopTimer()
		a1, w1 := s.requests(b)
		all, writes = all+a1-a0, writes+w1-w0
		for _, r := range results {
			if n := r.Changes.Count(clusters.ActionCreated); n != benchObjects+1 {
				b.Fatalf("%s: %d created, want %d", r.Cluster, n, benchObjects+1)
			}
		}
		deleteNamespace(s.fleet, s.ns) // the next run starts with quiet controllers
		b.StartTimer()
	}
	b.ReportMetric(float64(3*(benchObjects+1)*b.N)/b.Elapsed().Seconds(), "objects/s")
	b.ReportMetric(float64(all)/float64(b.N)/3, "requests/cluster/op")
	b.ReportMetric(float64(writes)/float64(b.N)/3, "writes/cluster/op")
}

// BenchmarkSyncNoop: a second pass when nothing changed on either side.
func BenchmarkSyncNoop(b *testing.B) {
	tuneGC(b)
	s := newBenchSetup(b, "bench-noop")
	s.settle(b)
	a0, w0 := s.requests(b)
	for b.Loop() {
		for _, r := range s.sync(b) {
			if r.Changes.Count(clusters.ActionUnchanged) != benchObjects+1 {
				b.Fatalf("%s: %+v", r.Cluster, r.Changes)
			}
		}
	}
	a1, w1 := s.requests(b)
	s.report(b, a1-a0, w1-w0)
}

// BenchmarkSyncOneChange: one ConfigMap of 300 changed in Git since the last pass.
func BenchmarkSyncOneChange(b *testing.B) {
	tuneGC(b)
	s := newBenchSetup(b, "bench-one")
	s.settle(b)
	var all, writes int64
	for i := 1; b.Loop(); i++ {
		b.StopTimer()
		s.repo.Write(benchFiles(s.ns, 42, i))
		s.repo.Commit(fmt.Sprint("change ", i))
		a0, w0 := s.requests(b)
		b.StartTimer()
		results := s.sync(b)
		b.StopTimer()
		a1, w1 := s.requests(b)
		all, writes = all+a1-a0, writes+w1-w0
		for _, r := range results {
			if r.Changes.Count(clusters.ActionConfigured) != 1 {
				b.Fatalf("%s: %d configured, want 1", r.Cluster, r.Changes.Count(clusters.ActionConfigured))
			}
		}
		b.StartTimer()
	}
	s.report(b, all, writes)
}

// BenchmarkKubectlServerSideApply is the baseline for BenchmarkSyncInitial: the same rendered
// objects applied with `kubectl apply --server-side` to each cluster in turn.
func BenchmarkKubectlServerSideApply(b *testing.B) {
	fleet := shared.Fleet(b)
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		ns := fmt.Sprintf("bench-kubectl-%d", i)
		dir := b.TempDir()
		for p, content := range benchFiles(ns, -1, 0) {
			full := filepath.Join(dir, p)
			os.MkdirAll(filepath.Dir(full), 0o755)
			os.WriteFile(full, []byte(content), 0o644)
		}
		view, err := tree.FromDir(dir, tree.DefaultLimits())
		if err != nil {
			b.Fatal(err)
		}
		m, err := render.Render(context.Background(), view, "app")
		if err != nil {
			b.Fatal(err)
		}
		var stream strings.Builder
		for _, obj := range m.Objects {
			data, _ := obj.MarshalJSON()
			stream.Write(data)
			stream.WriteString("\n")
		}
		file := filepath.Join(dir, "rendered.json")
		os.WriteFile(file, []byte(stream.String()), 0o644)
		b.StartTimer()
		for _, c := range fleet.Clusters {
			if out, err := exec.Command("kubectl", "--kubeconfig", c.Kubeconfig, "apply", "--server-side", "-f", file).CombinedOutput(); err != nil {
				b.Fatalf("kubectl apply: %v\n%s", err, out)
			}
		}
		b.StopTimer()
		deleteNamespace(fleet, ns)
		b.StartTimer()
	}
}

// BenchmarkDiffNoChange: flotilla diff of 3 clusters × 300 objects that match Git and that nobody
// changed since the last sync: the metadata LISTs show it, so no object needs a dry run.
func BenchmarkDiffNoChange(b *testing.B) {
	tuneGC(b)
	s := newBenchSetup(b, "bench-diff")
	s.settle(b)
	a0, w0 := s.requests(b)
	for b.Loop() {
		diffs, err := s.syncer.Diff(context.Background(), s.cfg, reconciler.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range diffs {
			if d.Error != "" || len(d.Objects) != 0 {
				b.Fatalf("%s: error %q, %d differences", d.Cluster, d.Error, len(d.Objects))
			}
		}
	}
	a1, w1 := s.requests(b)
	s.report(b, a1-a0, w1-w0)
}
