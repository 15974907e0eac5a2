package render_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/sources/render"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

// componentDiamond is a kustomization whose components each include the two components of
// the next level, levels deep: kustomize loads the last level 2^levels times.
func componentDiamond(levels int) map[string]string {
	files := map[string]string{
		"app/kustomization.yaml": "resources: [cm.yaml]\ncomponents: [../c1a, ../c1b]\n",
		"app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
	}
	for i := 1; i <= levels; i++ {
		body := "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
		if i < levels {
			body += fmt.Sprintf("components: [../c%da, ../c%db]\n", i+1, i+1)
		} else {
			body += "commonAnnotations: {deep: \"yes\"}\n"
		}
		files[fmt.Sprintf("c%da/kustomization.yaml", i)] = body
		files[fmt.Sprintf("c%db/kustomization.yaml", i)] = body
	}
	return files
}

// TestKustomizationLoadsAreBounded: folders that include each other's children many levels
// deep make kustomize load exponentially many kustomizations; a render under the limit works,
// one over it is refused before kustomize runs, naming the limit.
func TestKustomizationLoadsAreBounded(t *testing.T) {
	// Loads: 1 + 2 + 4 + ... + 2^levels = 2^(levels+1) - 1.
	limits := tree.DefaultLimits()
	limits.MaxKustomizations = 127
	under, err := tree.FromFiles(componentDiamond(6), limits) // 127 loads
	if err != nil {
		t.Fatal(err)
	}
	m, err := render.Render(context.Background(), under, "app")
	if err != nil {
		t.Fatalf("127 loads, at the limit: %v", err)
	}
	if got := m.Objects[0].GetAnnotations()["deep"]; got != "yes" {
		t.Errorf("annotation deep = %q", got)
	}
	over, err := tree.FromFiles(componentDiamond(7), limits) // 255 loads
	if err != nil {
		t.Fatal(err)
	}
	_, err = render.Render(context.Background(), over, "app")
	if want := "app: kustomizations loaded by one render: 255 is over the limit of 127"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	huge, err := tree.FromFiles(componentDiamond(22), tree.DefaultLimits()) // 2^23 - 1 loads
	if err != nil {
		t.Fatal(err)
	}
	_, err = render.Render(context.Background(), huge, "app")
	if want := "kustomizations loaded by one render: 8388607 is over the limit of 1000"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

// TestSecretEnvLineWithoutEquals: a secretGenerator env file line without "=" would become a
// key, printed in clear; it is refused, naming the file and line but not the line.
func TestSecretEnvLineWithoutEquals(t *testing.T) {
	tests := []struct {
		name, env, wantErr string
	}{
		{name: "pasted value", env: "# db\nUSER=app\nhunter2-pasted-alone\n", wantErr: `app/db.env:3: secretGenerator env file line has no "="`},
		{name: "key=value lines, comments and blank lines", env: "\ufeff# db\n\nUSER=app\n  PASSWORD=hunter2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{
				"app/kustomization.yaml": "secretGenerator: [{name: db, envs: [db.env]}]\nconfigMapGenerator: [{name: plain, envs: [plain.env]}]\n",
				"app/db.env":             tt.env,
				"app/plain.env":          "no-equals-is-fine-outside-secrets\n",
			}
			m, err := renderFiles(t, files, "app")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(m.Objects) != 2 {
					t.Errorf("rendered %d objects", len(m.Objects))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows the line: %v", err)
			}
		})
	}
}

// nested is a custom object whose spec nests mappings depth levels below the document.
func nested(name string, depth int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: example.com/v1\nkind: Deep\nmetadata: {name: %s}\nspec:", name)
	for i := 0; i < depth-1; i++ {
		b.WriteString(" {a:")
	}
	b.WriteString(" x" + strings.Repeat("}", depth-1) + "\n")
	return b.String()
}

// list is a kind: List of n ConfigMaps.
func list(n int) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	for i := range n {
		fmt.Fprintf(&b, "- {apiVersion: v1, kind: ConfigMap, metadata: {name: c%d}}\n", i)
	}
	return b.String()
}

// configMap is a ConfigMap with n keys.
func configMap(n int) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n")
	for i := range n {
		fmt.Fprintf(&b, "  k%d: v\n", i)
	}
	return b.String()
}

// TestLimitsHoldWhileDecoding: objects (List items included), nodes and nesting are counted
// before any YAML parser sees a file, so a file just under a limit renders and one just over
// it is refused without being decoded.
func TestLimitsHoldWhileDecoding(t *testing.T) {
	small := tree.DefaultLimits()
	small.MaxDocuments = 100
	small.MaxNodes = 5_000
	var deepDocs strings.Builder
	for range 500 {
		fmt.Fprintf(&deepDocs, "---\n%s%s\n", strings.Repeat("[", 9_990), strings.Repeat("]", 9_990))
	}
	tests := []struct {
		name    string
		limits  tree.Limits
		file    string
		want    int    // objects rendered
		wantErr string // or the refusal
	}{
		{name: "List at the object limit", limits: small, file: list(100), want: 100},
		{name: "List over the object limit", limits: small, file: list(101), wantErr: "app/r.yaml: objects read by one render (documents and List items): 101 is over the limit of 100"},
		{name: "List of 100,000 items", limits: tree.DefaultLimits(), file: list(100_000), wantErr: "app/r.yaml: objects read by one render (documents and List items): 10001 is over the limit of 10000"},
		{name: "nesting at the depth limit", limits: tree.DefaultLimits(), file: nested("deep", 200), want: 1},
		{name: "nesting over the depth limit", limits: tree.DefaultLimits(), file: nested("deep", 201), wantErr: "app/r.yaml: YAML nesting depth: 201 is over the limit of 200"},
		{name: "500 documents 9,990 deep", limits: tree.DefaultLimits(), file: deepDocs.String(), wantErr: "app/r.yaml: YAML nesting depth: 201 is over the limit of 200"},
		{name: "nodes under the limit", limits: small, file: configMap(2_000), want: 1},
		{name: "nodes over the limit", limits: small, file: configMap(3_000), wantErr: "app/r.yaml: YAML nodes read by one render: 5001 is over the limit of 5000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			view, err := tree.FromFiles(map[string]string{"app/kustomization.yaml": "resources: [r.yaml]\n", "app/r.yaml": tt.file}, tt.limits)
			if err != nil {
				t.Fatal(err)
			}
			m, err := render.Render(context.Background(), view, "app")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(m.Objects) != tt.want {
					t.Errorf("rendered %d objects, want %d", len(m.Objects), tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if strings.Count(err.Error(), "\n") > 0 || strings.Contains(err.Error(), "accumulat") {
				t.Errorf("not one clear line: %v", err)
			}
		})
	}
}

// TestGeneratorDataIsNotScannedAsYAML: a file named only as generator data (a keystore, a
// dashboard) is not YAML to kustomize and is not held to YAML limits; the same file named as a
// resource too is.
func TestGeneratorDataIsNotScannedAsYAML(t *testing.T) {
	blob := strings.Repeat("[{", 300) + "\xef\xbb\xbf binary"
	files := map[string]string{
		"app/kustomization.yaml": "secretGenerator: [{name: keystore, files: [blob.bin]}]\n",
		"app/blob.bin":           blob,
	}
	m, err := renderFiles(t, files, "app")
	if err != nil {
		t.Fatalf("generator data refused: %v", err)
	}
	if len(m.Objects) != 1 {
		t.Errorf("rendered %d objects", len(m.Objects))
	}
	files["app/kustomization.yaml"] += "resources: [blob.bin]\n"
	if _, err := renderFiles(t, files, "app"); err == nil || !strings.Contains(err.Error(), "app/blob.bin: YAML nesting depth") {
		t.Errorf("a data file also named as a resource: err = %v, want the depth limit", err)
	}
}

// itemList is a kind: List of n ConfigMaps.
func itemList(n int) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	for i := range n {
		fmt.Fprintf(&b, "- {apiVersion: v1, kind: ConfigMap, metadata: {name: c%d}}\n", i)
	}
	return b.String()
}

// TestSymlinkAliasOfGeneratorDataIsHeldToLimits: a file named as generator data through its
// real path and as a resource through a symlinked folder is one file, which kustomize parses
// as YAML: it is held to the object limit (under it renders, over it is refused), not skipped
// as data. kustomize reads it twice (as a resource, then as data), and each read counts.
func TestSymlinkAliasOfGeneratorDataIsHeldToLimits(t *testing.T) {
	limits := tree.DefaultLimits()
	limits.MaxDocuments = 100
	for _, tc := range []struct {
		items int
		ok    bool
	}{{items: 45, ok: true}, {items: 101}} {
		t.Run(fmt.Sprint(tc.items), func(t *testing.T) {
			view, err := tree.FromFiles(map[string]string{
				"app/kustomization.yaml": "resources: [link/r.yaml]\nconfigMapGenerator: [{name: x, files: [sub/r.yaml]}]\n",
				"app/sub/r.yaml":         itemList(tc.items),
				"app/link@":              "->sub",
			}, limits)
			if err != nil {
				t.Fatal(err)
			}
			m, err := render.Render(context.Background(), view, "app")
			var limit *tree.LimitError
			switch {
			case tc.ok && err != nil:
				t.Fatalf("under the limit: %v", err)
			case tc.ok && len(m.Objects) != tc.items+1:
				t.Errorf("rendered %d objects, want %d", len(m.Objects), tc.items+1)
			case !tc.ok && !errors.As(err, &limit):
				t.Fatalf("over the limit: err = %v, want a LimitError", err)
			case !tc.ok && (limit.Path != "app/sub/r.yaml" || limit.Max != 100):
				t.Errorf("refused %s: %s (max %d), want app/sub/r.yaml over 100 objects", limit.Path, limit.Limit, limit.Max)
			}
		})
	}
}
