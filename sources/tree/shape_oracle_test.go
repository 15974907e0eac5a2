package tree

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// decodedShape is what go.yaml.in/yaml/v3 makes of a file, in scanShape's terms: the oracle the
// scanner's upper bounds are checked against.
type decodedShape struct {
	Documents, Objects, Nodes, MaxDepth int
}

// decodeShape decodes data with the YAML parser; ok is false if the parser rejects it.
func decodeShape(data []byte) (d decodedShape, ok bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return d, true
		}
		if err != nil {
			return d, false
		}
		d.Documents++
		for _, root := range doc.Content {
			nodes, depth := decodedNodeStats(root)
			d.Nodes += nodes
			d.MaxDepth = max(d.MaxDepth, depth)
			d.Objects += decodedObjects(root, true)
		}
	}
}

// kustomizeSeparator is where kustomize's kio.ByteReader splits a file into documents, before
// it decodes the first document of each part.
var kustomizeSeparator = regexp.MustCompile(`\n---.*\n`)

// decodeKustomizeShape decodes data as kustomize does: split at separator lines, then the first
// document of each part, up to the first part the parser rejects. ok is false if kustomize
// refuses the file before decoding anything.
func decodeKustomizeShape(data []byte) (d decodedShape, ok bool) {
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	var parts []string
	prev := 0
	for _, loc := range kustomizeSeparator.FindAllStringIndex(text, -1) {
		if rest := strings.TrimSpace(text[loc[0]+4 : loc[1]]); rest != "" && rest[0] != '#' {
			return d, false
		}
		parts = append(parts, text[prev:loc[0]]+"\n")
		prev = loc[1]
	}
	parts = append(parts, text[prev:])
	for _, part := range parts {
		var doc yaml.Node
		err := yaml.NewDecoder(strings.NewReader(part)).Decode(&doc)
		if errors.Is(err, io.EOF) {
			continue
		}
		if err != nil {
			break
		}
		d.Documents++
		for _, root := range doc.Content {
			nodes, depth := decodedNodeStats(root)
			d.Nodes += nodes
			d.MaxDepth = max(d.MaxDepth, depth)
			d.Objects += decodedObjects(root, true)
		}
	}
	return d, true
}

// decodedNodeStats counts the nodes under n, n included, and the depth of its collections. An
// alias is one node: what it expands to is bounded elsewhere.
func decodedNodeStats(n *yaml.Node) (nodes, depth int) {
	if n.Kind != yaml.MappingNode && n.Kind != yaml.SequenceNode {
		return 1, 0
	}
	nodes = 1
	for _, c := range n.Content {
		cn, cd := decodedNodeStats(c)
		nodes += cn
		depth = max(depth, cd)
	}
	return nodes, depth + 1
}

// decodedObjects is how many objects kustomize makes of a document's root (or of a List item):
// a kind ending in "List" with items expands into its items, recursively.
func decodedObjects(n *yaml.Node, root bool) int {
	if root && n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return 0 // an empty document
	}
	if n.Kind != yaml.MappingNode {
		return 1
	}
	var kind string
	var items *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch n.Content[i].Value {
		case "kind":
			kind = n.Content[i+1].Value
		case "items":
			items = n.Content[i+1]
		}
	}
	if !strings.HasSuffix(kind, "List") || items == nil {
		return 1
	}
	if items.Kind != yaml.SequenceNode {
		if items.Tag == "!!null" {
			return 0
		}
		return 1
	}
	total := 0
	for _, item := range items.Content {
		total += decodedObjects(item, false)
	}
	return total
}

// checkOracle fails t if scanShape's figures for data are below what the parser decodes.
func checkOracle(t *testing.T, name string, data []byte) {
	t.Helper()
	got, err := scanShape(name, data, ShapeLimits{})
	if err != nil {
		var limit *LimitError
		if errors.As(err, &limit) && limit.Limit == limitShapeBOM {
			return // refused, not under-counted
		}
		t.Fatalf("%s: unlimited scan failed: %v", name, err)
	}
	if want, ok := decodeShape(data); ok && shapeBelow(got, want) {
		t.Errorf("%s: scanned %+v, below decoded %+v\n%q", name, got, want, shapeExcerpt(data, 2000))
	}
	if want, ok := decodeKustomizeShape(data); ok && shapeBelow(got, want) {
		t.Errorf("%s: scanned %+v, below decoded as kustomize splits it %+v\n%q", name, got, want, shapeExcerpt(data, 2000))
	}
}

// shapeBelow reports whether a scanned figure is below a decoded one.
func shapeBelow(got Shape, want decodedShape) bool {
	return got.Documents < want.Documents || got.Nodes < want.Nodes || got.MaxDepth < want.MaxDepth || got.Objects < want.Objects
}

// shapeExcerpt is the start of data, to show in a failure.
func shapeExcerpt(data []byte, n int) []byte {
	if len(data) > n {
		return data[:n]
	}
	return data
}

// shapeModuleDir is where the go command keeps a module this repository depends on, "" if unknown.
func shapeModuleDir(t testing.TB, module string) string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module).Output()
	if err != nil {
		t.Logf("module %s not found: %v", module, err)
		return ""
	}
	return strings.TrimSpace(string(out))
}

// realShapeFiles returns the YAML and JSON files of the repository's examples/ folder and of
// kustomize's and Kubernetes' modules in the module cache (test data, CRDs, schemas), by path.
func realShapeFiles(t testing.TB) map[string][]byte {
	files := map[string][]byte{}
	roots := []string{"../../examples"}
	for _, module := range []string{"sigs.k8s.io/kustomize/api", "sigs.k8s.io/kustomize/kyaml", "sigs.k8s.io/structured-merge-diff/v6", "k8s.io/apimachinery", "k8s.io/kube-openapi", "go.yaml.in/yaml/v3"} {
		if dir := shapeModuleDir(t, module); dir != "" {
			roots = append(roots, dir)
		}
	}
	for _, root := range roots {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			switch filepath.Ext(p) {
			case ".yaml", ".yml", ".json":
			default:
				return nil
			}
			if info, err := d.Info(); err != nil || info.Size() > 4<<20 {
				return nil
			}
			if data, err := os.ReadFile(p); err == nil {
				files[p] = data
			}
			return nil
		})
	}
	return files
}

// TestScanShapeOracle checks the scanner against the parser on every real YAML file found.
func TestScanShapeOracle(t *testing.T) {
	files := realShapeFiles(t)
	if len(files) < 10 {
		t.Fatalf("found only %d YAML files", len(files))
	}
	decoded := 0
	for name, data := range files {
		if _, ok := decodeShape(data); ok {
			decoded++
		}
		checkOracle(t, name, data)
	}
	t.Logf("%d files, %d of them valid YAML", len(files), decoded)
}

// FuzzScanShape checks that the scanner never panics and never counts less than the parser
// decodes. It is seeded with the table cases and with real Kubernetes YAML.
func FuzzScanShape(f *testing.F) {
	for _, c := range shapeCases {
		f.Add([]byte(c.in))
	}
	for _, data := range realShapeFiles(f) {
		if len(data) <= 16<<10 {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkOracle(t, "fuzz", data)
		full, err := scanShape("fuzz", data, ShapeLimits{})
		if err != nil {
			return // refused whatever the limits
		}
		limits := ShapeLimits{MaxDepth: 5, MaxNodes: 50, MaxObjects: 3}
		limited, err := scanShape("fuzz", data, limits)
		var limit *LimitError
		switch {
		case err == nil && limited != full:
			t.Fatalf("the limits changed the shape: %+v, unlimited %+v", limited, full)
		case err == nil && (full.MaxDepth > 5 || full.Nodes > 50 || full.Objects > 3):
			t.Fatalf("went past a limit without an error: %+v", full)
		case err != nil && !errors.As(err, &limit):
			t.Fatalf("limited scan failed with %T: %v", err, err)
		case err != nil && limit.Value <= limit.Max:
			t.Fatalf("refused under the limit: %v", err)
		case err != nil && (limit.Limit == limitShapeDepth && full.MaxDepth <= 5 || limit.Limit == limitShapeNodes && full.Nodes <= 50):
			t.Fatalf("refused (%v) a file within the limits: %+v", err, full)
		}
	})
}

// TestScanShapeRealFiles scans the repository's examples and large CRDs under the limits a render
// uses, and records their depths: real Kubernetes YAML is far from a depth limit of 200.
func TestScanShapeRealFiles(t *testing.T) {
	depths := map[string]int{
		"base/details.yaml":                   8,
		"base/istio/destinationrules.yaml":    5,
		"base/istio/gateway.yaml":             5,
		"base/istio/security.yaml":            8,
		"base/istio/virtualservices.yaml":     8,
		"base/kustomization.yaml":             4,
		"base/namespace.yaml":                 3,
		"base/productpage.yaml":               9,
		"base/ratings.yaml":                   10,
		"base/reviews.yaml":                   8,
		"flotilla.yaml":                       6,
		"overlays/dev/kustomization.yaml":     4,
		"overlays/prod/kustomization.yaml":    4,
		"overlays/staging/kustomization.yaml": 4,
	}
	seen := 0
	err := filepath.WalkDir("../../examples", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (filepath.Ext(p) != ".yaml" && filepath.Ext(p) != ".yml") {
			return err
		}
		name, _ := filepath.Rel("../../examples", p)
		scanRealFile(t, p, depths[filepath.ToSlash(name)])
		seen++
		return nil
	})
	if err != nil || seen != len(depths) {
		t.Errorf("scanned %d files of examples/ (%v), recorded %d", seen, err, len(depths))
	}
	// Large CRDs from the module cache, when it holds them.
	for _, crd := range []struct {
		module, path string
		depth        int
	}{
		{"sigs.k8s.io/structured-merge-diff/v6", "internal/testdata/prometheus-crd.yaml", 23},
		{"k8s.io/kube-openapi", "pkg/schemaconv/testdata/crds/openapiv3/dlp_v1beta1_dlpdeidentifytemplate.json", 34},
		{"k8s.io/kube-openapi", "pkg/schemaconv/testdata/crds/openapiv3/monitoring_v1beta1_monitoringdashboard.json", 30},
	} {
		if dir := shapeModuleDir(t, crd.module); dir != "" {
			scanRealFile(t, filepath.Join(dir, crd.path), crd.depth)
		}
	}
}

// scanRealFile scans a file under a render's limits and checks its recorded depth and that the
// scan matches the parser exactly.
func scanRealFile(t *testing.T, path string, depth int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Log(err)
		return
	}
	shape, err := scanShape(path, data, ShapeLimits{MaxDepth: 200, MaxNodes: 1_000_000, MaxObjects: 10_000})
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	if shape.MaxDepth != depth {
		t.Errorf("%s: depth %d, recorded %d", path, shape.MaxDepth, depth)
	}
	if want, ok := decodeShape(data); !ok || shape != Shape(want) {
		t.Errorf("%s: scanned %+v, decoded %+v (valid: %v)", path, shape, want, ok)
	}
}
