package render_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/sources/gittest"
	"github.com/flotilla-dev/flotilla/sources/render"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx:1.27}]}
`

func renderFiles(t *testing.T, files map[string]string, dir string) (*render.Manifests, error) {
	t.Helper()
	view, err := tree.FromFiles(files, tree.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return render.Render(context.Background(), view, dir)
}

func TestRenderRefusesHostileRepositories(t *testing.T) {
	bomb := "a: &a [x, x, x, x, x, x, x, x, x]\n"
	for i, prev := 1, "a"; i < 9; i++ {
		name := fmt.Sprintf("b%d", i)
		bomb += name + ": &" + name + " [" + strings.Repeat("*"+prev+", ", 8) + "*" + prev + "]\n"
		prev = name
	}
	var many strings.Builder
	for i := range 100_000 {
		fmt.Fprintf(&many, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d}\n", i)
	}
	tests := []struct {
		name    string
		files   map[string]string
		dir     string
		wantErr []string
	}{
		{
			name:    "symlink to /etc/passwd",
			files:   map[string]string{"app/kustomization.yaml": "resources: [passwd]\n", "app/passwd@": "->/etc/passwd"},
			wantErr: []string{"app/passwd: symlink to /etc/passwd leaves the repository"},
		},
		{
			name:    "relative symlink out of the repository",
			files:   map[string]string{"app/kustomization.yaml": "resources: [x.yaml]\n", "app/x.yaml@": "->../../../etc/passwd"},
			wantErr: []string{"app/x.yaml: symlink to ../../../etc/passwd leaves the repository"},
		},
		{
			name:    "resource above the repository",
			files:   map[string]string{"app/kustomization.yaml": "resources: [../../outside.yaml]\n"},
			wantErr: []string{"app/kustomization.yaml: resources[0]: \"../../outside.yaml\" leaves the repository"},
		},
		{
			name:    "remote base",
			files:   map[string]string{"app/kustomization.yaml": "resources:\n- https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.5.0\n"},
			wantErr: []string{"app/kustomization.yaml: resources[0]: URL is remote; the Source does not allow remote bases (spec.allowRemoteBases): \"https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.5.0\""},
		},
		{
			name:    "scp-style remote base",
			files:   map[string]string{"app/kustomization.yaml": "resources:\n- git@github.com:org/repo.git//base\n"},
			wantErr: []string{"resources[0]: URL is remote"},
		},
		{
			name:    "missing base that kustomize would try to clone",
			files:   map[string]string{"app/kustomization.yaml": "resources: [github.com/org/repo/base]\n"},
			wantErr: []string{"resources[0]: URL is remote"},
		},
		{
			name:    "kustomization that includes itself",
			files:   map[string]string{"app/kustomization.yaml": "resources: [../app]\n"},
			wantErr: []string{"cycle detected"},
		},
		{
			name:    "invalid YAML",
			files:   map[string]string{"app/kustomization.yaml": "resources: [bad.yaml]\n", "app/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [unclosed\n"},
			wantErr: []string{"render app", "bad.yaml"},
		},
		{
			name:    "YAML alias bomb",
			files:   map[string]string{"app/kustomization.yaml": "resources: [bomb.yaml]\n", "app/bomb.yaml": bomb},
			wantErr: []string{"app/bomb.yaml: nodes produced by YAML aliases", "over the limit of 100000"},
		},
		{
			name:    "100,000 objects",
			files:   map[string]string{"app/kustomization.yaml": "resources: [many.yaml]\n", "app/many.yaml": many.String()},
			wantErr: []string{"render app: app/many.yaml: objects read by one render (documents and List items): 10001 is over the limit of 10000"},
		},
		{
			name:    "two objects with the same ID",
			files:   map[string]string{"app/kustomization.yaml": "resources: [a.yaml, b.yaml]\n", "app/a.yaml": deployment, "app/b.yaml": deployment},
			wantErr: []string{"render app", "already registered id: Deployment.v1.apps/web"},
		},
		{
			name: "exec function",
			files: map[string]string{
				"app/kustomization.yaml": "transformers: [fn.yaml]\n",
				"app/fn.yaml":            "apiVersion: example.com/v1\nkind: Fn\nmetadata:\n  name: fn\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: /bin/sh\n",
			},
			wantErr: []string{"render app"},
		},
		{
			name:    "helm chart",
			files:   map[string]string{"app/kustomization.yaml": "helmCharts:\n- name: nginx\n  repo: https://charts.example.com\n"},
			wantErr: []string{"render app"},
		},
		{
			name:    "object without a name",
			files:   map[string]string{"app/kustomization.yaml": "resources: [cm.yaml]\n", "app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n"},
			wantErr: []string{"render app"},
		},
		{
			name:    "path outside the repository",
			files:   map[string]string{"app/kustomization.yaml": "resources: []\n"},
			dir:     "../app",
			wantErr: []string{`kustomization path "../app" leaves the repository`},
		},
		{
			name:    "path that is not a folder",
			files:   map[string]string{"app/kustomization.yaml": "resources: []\n"},
			dir:     "overlays/prod",
			wantErr: []string{`kustomization path "overlays/prod" is not a folder in the repository`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir
			if dir == "" {
				dir = "app"
			}
			m, err := renderFiles(t, tt.files, dir)
			if err == nil {
				t.Fatalf("rendered %d objects, want an error", len(m.Objects))
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not contain %q:\n%v", want, err)
				}
			}
			if strings.Contains(err.Error(), "root:x:0:0") {
				t.Errorf("error shows /etc/passwd content: %v", err)
			}
		})
	}
}

func TestRenderRefusesHugeFileWithoutReadingIt(t *testing.T) {
	root := t.TempDir()
	app := filepath.Join(root, "app")
	os.MkdirAll(app, 0o755)
	os.WriteFile(filepath.Join(app, "kustomization.yaml"), []byte("resources: [huge.yaml]\n"), 0o644)
	huge, err := os.Create(filepath.Join(app, "huge.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := huge.Truncate(100 << 20); err != nil { // 100 MiB, sparse
		t.Fatal(err)
	}
	huge.Close()
	view, err := tree.FromDir(root, tree.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	_, err = render.Render(context.Background(), view, "app")
	want := "app/huge.yaml: file size in bytes: 104857600 is over the limit of 16777216"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to contain %q", err, want)
	}
	if read := view.Stats().BytesRead; read > 1024 {
		t.Errorf("read %d bytes before refusing", read)
	}
}

// TestRenderFromGitRefusesSymlinks runs the symlink checks on a real commit, where the link is a
// Git object rather than a file on disk.
func TestRenderFromGitRefusesSymlinks(t *testing.T) {
	repo := gittest.NewRepo(t, t.TempDir(), "hostile")
	repo.Write(map[string]string{"app/kustomization.yaml": "resources: [passwd, ok.yaml]\n", "app/real.yaml": deployment})
	if err := os.Symlink("/etc/passwd", filepath.Join(repo.Work, "app", "passwd")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real.yaml", filepath.Join(repo.Work, "app", "ok.yaml")); err != nil {
		t.Fatal(err)
	}
	view, err := tree.FromGit(repo.CommitTree("hostile"), tree.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := render.Render(context.Background(), view, "app"); err == nil || !strings.Contains(err.Error(), "app/passwd: symlink to /etc/passwd leaves the repository") {
		t.Fatalf("err = %v, want the escaping symlink refused", err)
	}
	// A symlink that stays inside the repository is followed.
	if data, err := view.ReadFile("/app/ok.yaml"); err != nil || string(data) != deployment {
		t.Errorf("ReadFile through an inside symlink = %q, %v", data, err)
	}
}

func TestRenderOrdersForApply(t *testing.T) {
	m, err := renderFiles(t, map[string]string{
		"app/kustomization.yaml": "resources: [all.yaml]\n",
		"app/all.yaml": `apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: shop}
---
apiVersion: example.com/v1
kind: Fleet
metadata: {name: global}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: fleets.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {kind: Fleet, plural: fleets}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: shop}
`,
	}, "app")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, obj := range m.Objects {
		got = append(got, object.IDOf(obj).String())
	}
	want := []string{
		"CustomResourceDefinition.apiextensions.k8s.io/fleets.example.com",
		"Namespace/shop",
		"ClusterRole.rbac.authorization.k8s.io/reader",
		"Fleet.example.com/global",
		"ConfigMap/shop/cfg",
		"Widget.example.com/shop/w",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("apply order:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRenderDigestIsStable pins the digest of a fixed tree: the same input gives the same digest
// on any machine, and any change to an object changes it.
func TestRenderDigestIsStable(t *testing.T) {
	files := map[string]string{"app/kustomization.yaml": "resources: [d.yaml]\nnamespace: shop\n", "app/d.yaml": deployment}
	first, err := renderFiles(t, files, "app")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := renderFiles(t, files, "app")
	const golden = "sha256:14a80b0408b979c3a9c5f5165ce961199744aa7f4f846e2f5faffcffb1bd8c54"
	if first.Digest != again.Digest {
		t.Fatalf("two renders of one tree: %s, %s", first.Digest, again.Digest)
	}
	if first.Digest != golden {
		t.Errorf("digest = %s, want the pinned %s", first.Digest, golden)
	}
	files["app/d.yaml"] = strings.Replace(deployment, "nginx:1.27", "nginx:1.28", 1)
	changed, _ := renderFiles(t, files, "app")
	if changed.Digest == first.Digest {
		t.Error("changing an image did not change the digest")
	}
}

// TestRenderFilesNamesEachObjectsFile: Files finds the repository file every object came from (a
// generated one's, the kustomization that generated it), and renders never carry kustomize's
// origin annotations unless the kustomization asks for them itself.
func TestRenderFilesNamesEachObjectsFile(t *testing.T) {
	files := map[string]string{
		"base/kustomization.yaml":         "resources: [web.yaml]\n",
		"base/web.yaml":                   deployment,
		"overlays/dev/kustomization.yaml": "resources: [../../base, extra.yaml]\nconfigMapGenerator: [{name: settings, literals: [mode=dev]}]\n",
		"overlays/dev/extra.yaml":         "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra, annotations: {team: shop}}\n",
	}
	tests := []struct {
		name            string
		buildMetadata   string
		wantAnnotations bool
	}{
		{"tracked for Flotilla only", "", false},
		{"asked for by the kustomization", "buildMetadata: [originAnnotations]\n", true},
		{"other build metadata kept", "buildMetadata: [managedByLabel]\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := maps.Clone(files)
			files["overlays/dev/kustomization.yaml"] += tt.buildMetadata
			view, err := tree.FromFiles(files, tree.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			m, err := render.Render(context.Background(), view, "overlays/dev")
			if err != nil {
				t.Fatal(err)
			}
			located := render.Files(view.Fresh(), "overlays/dev")
			got := map[string]string{}
			for _, obj := range m.Objects {
				id := object.IDOf(obj)
				got[id.String()] = located[id]
				_, annotated := obj.GetAnnotations()["config.kubernetes.io/origin"]
				if annotated != tt.wantAnnotations {
					t.Errorf("%s: origin annotation present = %v, want %v", id, annotated, tt.wantAnnotations)
				}
				if obj.GetName() == "extra" && obj.GetAnnotations()["team"] != "shop" {
					t.Errorf("%s lost its own annotation: %v", id, obj.GetAnnotations())
				}
				if obj.GetName() == "web" && !tt.wantAnnotations && obj.GetAnnotations() != nil {
					t.Errorf("%s gained annotations: %v", id, obj.GetAnnotations())
				}
			}
			want := map[string]string{
				"Deployment.apps/web":           "base/web.yaml",
				"ConfigMap/extra":               "overlays/dev/extra.yaml",
				"ConfigMap/" + generatedName(m): "overlays/dev/kustomization.yaml",
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			if strings.Contains(tt.buildMetadata, "managedByLabel") && m.Objects[0].GetLabels()["app.kubernetes.io/managed-by"] == "" {
				t.Error("the kustomization's own buildMetadata (managedByLabel) was lost")
			}
		})
	}
}

// generatedName is the hashed name of the settings ConfigMap.
func generatedName(m *render.Manifests) string {
	for _, obj := range m.Objects {
		if strings.HasPrefix(obj.GetName(), "settings-") {
			return obj.GetName()
		}
	}
	return "settings-?"
}
