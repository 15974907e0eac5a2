package reconciler_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/config"
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

// benchFiles is an app/ kustomization of benchObjects objects in namespace ns; version changes
// the data of ConfigMap number changed (or of none, with changed < 0).
func benchFiles(ns string, changed, version int) map[string]string {
	var objects strings.Builder
	fmt.Fprintf(&objects, "apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n", ns)
	for i := range benchObjects / 2 {
		value := 0
		if i == changed {
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

type benchSetup struct {
	syncer *reconciler.Syncer
	cfg    *config.Config
	repo   *gittest.Repo
}

func newBenchSetup(b *testing.B, ns string) *benchSetup {
	b.Helper()
	fleet := shared.Fleet(b)
	repo := gittest.NewRepo(b, b.TempDir(), "fleet")
	repo.Write(benchFiles(ns, -1, 0))
	repo.Commit("bench")
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app"}, ns)
	b.Cleanup(func() {
		for _, c := range fleet.Clusters {
			_ = exec.Command("kubectl", "--kubeconfig", c.Kubeconfig, "delete", "namespace", ns, "--wait=false").Run()
		}
	})
	return &benchSetup{syncer: reconciler.NewSyncer(b.TempDir()), cfg: cfg, repo: repo}
}

func (s *benchSetup) sync(b *testing.B) []reconciler.ClusterResult {
	results, err := s.syncer.Sync(context.Background(), s.cfg, reconciler.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range results {
		if r.Status != reconciler.Synced {
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
	var all, writes int64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		s := newBenchSetup(b, fmt.Sprintf("bench-initial-%d", i))
		a0, w0 := s.requests(b)
		b.StartTimer()
		results := s.sync(b)
		b.StopTimer()
		a1, w1 := s.requests(b)
		all, writes = all+a1-a0, writes+w1-w0
		for _, r := range results {
			if n := r.Changes.Count(clusters.Created); n != benchObjects+1 {
				b.Fatalf("%s: %d created, want %d", r.Cluster, n, benchObjects+1)
			}
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(3*(benchObjects+1)*b.N)/b.Elapsed().Seconds(), "objects/s")
	b.ReportMetric(float64(all)/float64(b.N)/3, "requests/cluster/op")
	b.ReportMetric(float64(writes)/float64(b.N)/3, "writes/cluster/op")
}

// BenchmarkSyncNoop: a second pass when nothing changed on either side.
func BenchmarkSyncNoop(b *testing.B) {
	s := newBenchSetup(b, "bench-noop")
	s.sync(b)
	a0, w0 := s.requests(b)
	for b.Loop() {
		for _, r := range s.sync(b) {
			if r.Changes.Count(clusters.Unchanged) != benchObjects+1 {
				b.Fatalf("%s: %+v", r.Cluster, r.Changes)
			}
		}
	}
	a1, w1 := s.requests(b)
	s.report(b, a1-a0, w1-w0)
}

// BenchmarkSyncOneChange: one ConfigMap of 300 changed in Git since the last pass.
func BenchmarkSyncOneChange(b *testing.B) {
	s := newBenchSetup(b, "bench-one")
	s.sync(b)
	var all, writes int64
	for i := 1; b.Loop(); i++ {
		b.StopTimer()
		s.repo.Write(benchFiles("bench-one", 42, i))
		s.repo.Commit(fmt.Sprint("change ", i))
		a0, w0 := s.requests(b)
		b.StartTimer()
		results := s.sync(b)
		b.StopTimer()
		a1, w1 := s.requests(b)
		all, writes = all+a1-a0, writes+w1-w0
		for _, r := range results {
			if r.Changes.Count(clusters.Configured) != 1 {
				b.Fatalf("%s: %d configured, want 1", r.Cluster, r.Changes.Count(clusters.Configured))
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
		m, err := render.Render(view, "app")
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
		for _, c := range fleet.Clusters {
			_ = exec.Command("kubectl", "--kubeconfig", c.Kubeconfig, "delete", "namespace", ns, "--wait=false").Run()
		}
		b.StartTimer()
	}
}
