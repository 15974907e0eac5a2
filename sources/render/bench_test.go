package render_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/sources/render"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

// writeLargeKustomization writes a base of n objects (ConfigMaps and Deployments, half each) and
// an overlay that sets a namespace, labels and a patch, and returns the repository root.
func writeLargeKustomization(b *testing.B, n int) string {
	b.Helper()
	root := b.TempDir()
	var objects strings.Builder
	for i := range n / 2 {
		fmt.Fprintf(&objects, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings-%d}\ndata: {index: \"%d\", mode: fast}\n", i, i)
		fmt.Fprintf(&objects, "---\n%s", strings.ReplaceAll(deployment, "name: web\n", fmt.Sprintf("name: web-%d\n", i)))
	}
	files := map[string]string{
		"base/kustomization.yaml":          "resources: [objects.yaml]\n",
		"base/objects.yaml":                objects.String(),
		"overlays/prod/kustomization.yaml": "resources: [../../base]\nnamespace: prod\nlabels:\n- pairs: {env: prod}\npatches:\n- target: {kind: Deployment}\n  patch: |-\n    - {op: add, path: /spec/replicas, value: 2}\n",
	}
	for p, content := range files {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return root
}

// BenchmarkRender500InProcess renders 500 objects the way Flotilla does: index the repository,
// build in-process, order and digest.
//
//	go test -run '^$' -bench 'Render500' ./sources/render
func BenchmarkRender500InProcess(b *testing.B) {
	root := writeLargeKustomization(b, 500)
	for b.Loop() {
		view, err := tree.FromDir(root, tree.DefaultLimits())
		if err != nil {
			b.Fatal(err)
		}
		m, err := render.Render(context.Background(), view, "overlays/prod")
		if err != nil {
			b.Fatal(err)
		}
		if len(m.Objects) != 500 {
			b.Fatalf("rendered %d objects", len(m.Objects))
		}
	}
}

// BenchmarkRender500KubectlKustomize is the baseline: `kubectl kustomize` as a process.
func BenchmarkRender500KubectlKustomize(b *testing.B) {
	root := writeLargeKustomization(b, 500)
	for b.Loop() {
		out, err := exec.Command("kubectl", "kustomize", filepath.Join(root, "overlays/prod")).Output()
		if err != nil {
			b.Fatal(err)
		}
		if n := strings.Count(string(out), "\nkind: "); n < 499 {
			b.Fatalf("kubectl rendered %d objects", n)
		}
	}
}

// BenchmarkRender500Cached is the agent's usual case: a new revision whose changes are outside
// the kustomization. The repository is indexed again and the cached render's trace checked.
func BenchmarkRender500Cached(b *testing.B) {
	root := writeLargeKustomization(b, 500)
	cache := render.NewCache()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		os.WriteFile(filepath.Join(root, "README.md"), []byte(fmt.Sprint("revision ", i)), 0o644)
		b.StartTimer()
		view, err := tree.FromDir(root, tree.DefaultLimits())
		if err != nil {
			b.Fatal(err)
		}
		m, err := cache.Render(context.Background(), view, "overlays/prod")
		if err != nil || len(m.Objects) != 500 {
			b.Fatalf("render: %v", err)
		}
	}
	if hits, _ := cache.Stats(); hits != b.N-1 {
		b.Fatalf("%d cache hits in %d renders", hits, b.N)
	}
}
