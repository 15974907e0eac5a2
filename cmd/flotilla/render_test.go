package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/sources/gitserver"
	"github.com/flotilla-dev/flotilla/sources/gittest"
)

func TestRenderLocalFolder(t *testing.T) {
	res := flotilla(t, "render", "../../examples/overlays/prod", "--revision")
	if res.code != 0 {
		t.Fatalf("render: exit %d\n%s", res.code, res.stderr)
	}
	docs := strings.Split(res.stdout, "\n---\n")
	if len(docs) != 28 {
		t.Errorf("rendered %d documents, want 28", len(docs))
	}
	if !strings.HasPrefix(docs[0], "apiVersion: v1\nkind: Namespace\n") {
		t.Errorf("first object is not the Namespace:\n%s", docs[0])
	}
	if strings.Contains(res.stdout, "ZXhhbXBsZS1vbmx5") || !strings.Contains(res.stdout, "[redacted]") { // base64 of the example password
		t.Errorf("the Secret value is not redacted")
	}
	for _, want := range []string{"path:   examples/overlays/prod", "digest: sha256:"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("--revision output lacks %q:\n%s", want, res.stderr)
		}
	}

	shown := flotilla(t, "render", "../../examples/overlays/prod", "-o", "json", "--show-secrets")
	var list struct {
		Kind  string           `json:"kind"`
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal([]byte(shown.stdout), &list); err != nil || list.Kind != "List" || len(list.Items) != 28 {
		t.Fatalf("-o json: %v, kind %q, %d items", err, list.Kind, len(list.Items))
	}
	if !strings.Contains(shown.stdout, "ZXhhbXBsZS1vbmx5") {
		t.Errorf("--show-secrets did not show the Secret value")
	}
}

func TestRenderFromConfigAndCheckSources(t *testing.T) {
	root := t.TempDir()
	repo := gittest.NewRepo(t, root, "fleet")
	repo.Write(map[string]string{
		"base/kustomization.yaml":             "resources: [cm.yaml]\n",
		"base/cm.yaml":                        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: base}\n",
		"overlays/dev/kustomization.yaml":     "resources: [../../base]\nnamespace: dev\n",
		"overlays/staging/kustomization.yaml": "resources: [../../base]\nnamespace: staging\n",
	})
	head := repo.Commit("fleet")
	srv, err := gitserver.Start(gitserver.Options{Root: root, Username: "bot", Password: "pw-123456"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "password"), []byte("pw-123456\n"), 0o600)
	cfg := filepath.Join(dir, "flotilla.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`apiVersion: flotilla.dev/v1alpha1
kind: Source
metadata: {name: fleet}
spec:
  url: %s
  ref: {branch: main}
  auth: {basic: {username: bot, password: {file: password}}}
---
apiVersion: flotilla.dev/v1alpha1
kind: Cluster
metadata: {name: dev-1, labels: {env: dev}}
spec: {kubeconfig: kubeconfig}
---
apiVersion: flotilla.dev/v1alpha1
kind: App
metadata: {name: settings}
spec:
  source: fleet
  path: overlays/{{ .Cluster.Labels.env }}
`, srv.RepoURL("fleet"))), 0o644)
	cache := t.TempDir()

	res := flotilla(t, "render", "--config", cfg, "--app", "settings", "--cluster", "dev-1", "--revision", "--cache-dir", cache)
	if res.code != 0 {
		t.Fatalf("render --config: exit %d\n%s", res.code, res.stderr)
	}
	if !strings.Contains(res.stdout, "namespace: dev") || !strings.Contains(res.stderr, "revision:  "+head+" (branch main)") {
		t.Errorf("render --config printed:\n%s\n%s", res.stdout, res.stderr)
	}

	check := flotilla(t, "sources", "check", "--config", cfg, "--cache-dir", cache, "-o", "json")
	var rows []struct {
		Source   string `json:"source"`
		Revision struct {
			Commit    string `json:"commit"`
			Signature struct {
				Status string `json:"status"`
			} `json:"signature"`
		} `json:"revision"`
	}
	if err := json.Unmarshal([]byte(check.stdout), &rows); err != nil || check.code != 0 {
		t.Fatalf("sources check: exit %d, %v\n%s%s", check.code, err, check.stdout, check.stderr)
	}
	if len(rows) != 1 || rows[0].Revision.Commit != head || rows[0].Revision.Signature.Status != "not-checked" {
		t.Errorf("sources check = %+v, want fleet at %s", rows, head)
	}

	os.WriteFile(filepath.Join(dir, "password"), []byte("wrong-pw-987\n"), 0o600)
	failed := flotilla(t, "sources", "check", "--config", cfg, "--cache-dir", cache)
	if failed.code != 1 || !strings.Contains(failed.stdout, "authentication required") || strings.Contains(failed.stdout+failed.stderr, "wrong-pw-987") {
		t.Errorf("sources check with a wrong password: exit %d\n%s%s", failed.code, failed.stdout, failed.stderr)
	}

	missing := flotilla(t, "render", "--config", cfg, "--app", "nope", "--cluster", "dev-1")
	if missing.code != 1 || !strings.Contains(missing.stderr, `App "nope" is not defined`) {
		t.Errorf("render of an unknown App: exit %d, %s", missing.code, missing.stderr)
	}
}

func TestRenderRefusesBadArguments(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"render"}, "nothing to render"},
		{[]string{"render", "x", "--config", "c", "--app", "a", "--cluster", "b"}, "not both"},
		{[]string{"render", "--config", "c"}, "go together"},
		{[]string{"render", "../../examples/overlays/nowhere"}, `kustomization path "examples/overlays/nowhere" is not a folder`},
	}
	for _, tt := range tests {
		res := flotilla(t, tt.args...)
		if res.code != 1 || !strings.Contains(res.stderr, tt.wantErr) {
			t.Errorf("flotilla %s: exit %d, stderr %q; want %q", strings.Join(tt.args, " "), res.code, res.stderr, tt.wantErr)
		}
	}
}

// TestDiffErrorsExitTwo: diff's exit status 1 means "differences", so every error — a bad flag,
// a stray argument, a bad output format, a configuration that cannot be read — exits 2.
func TestDiffErrorsExitTwo(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"diff", "--no-such-flag"}, "unknown flag: --no-such-flag"},
		{[]string{"diff", "stray"}, `unknown command "stray"`},
		{[]string{"diff", "-o", "xml", "--config", "../../examples/flotilla.yaml"}, "xml"},
		{[]string{"diff", "--config", filepath.Join(t.TempDir(), "missing.yaml")}, "missing.yaml"},
	}
	for _, tt := range tests {
		res := flotilla(t, tt.args...)
		if res.code != 2 || !strings.Contains(res.stderr, tt.wantErr) {
			t.Errorf("flotilla %s: exit %d, stderr %q; want exit 2 saying %q", strings.Join(tt.args, " "), res.code, res.stderr, tt.wantErr)
		}
	}
}
