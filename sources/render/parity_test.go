package render_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/sources/render"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

// parityCases are kustomizations that exercise generators, patches, overlays and components.
var parityCases = map[string]map[string]string{
	"generators": {
		"app/kustomization.yaml": `namespace: shop
resources: [deployment.yaml]
configMapGenerator:
- name: settings
  literals: [MODE=fast, LEVEL=3]
  files: [app.properties]
- name: env
  envs: [vars.env]
secretGenerator:
- name: creds
  literals: [password=not-a-real-secret]
  type: Opaque
generatorOptions:
  labels: {generated: "yes"}
`,
		"app/deployment.yaml": deployment,
		"app/app.properties":  "a=1\nb=2\n",
		"app/vars.env":        "X=1\nY=two\n",
	},
	"overlay with patches": {
		"base/kustomization.yaml": "resources: [deployment.yaml, service.yaml]\nlabels:\n- pairs: {app.kubernetes.io/part-of: shop}\n  includeSelectors: false\n",
		"base/deployment.yaml":    deployment,
		"base/service.yaml":       "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]\n",
		"overlays/prod/kustomization.yaml": `resources: [../../base]
namespace: prod
namePrefix: prod-
replicas: [{name: web, count: 5}]
images: [{name: nginx, newTag: "1.29"}]
patches:
- path: resources.yaml
- target: {kind: Service, name: web}
  patch: |-
    - op: replace
      path: /spec/ports/0/port
      value: 8080
`,
		"overlays/prod/resources.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        resources: {limits: {cpu: 500m}}\n",
	},
	"components and istio": {
		"app/kustomization.yaml":         "resources: [vs.yaml]\ncomponents: [../strict-mtls]\n",
		"app/vs.yaml":                    "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews, namespace: shop}\nspec:\n  hosts: [reviews]\n  http:\n  - route:\n    - {destination: {host: reviews, subset: v1}, weight: 80}\n    - {destination: {host: reviews, subset: v2}, weight: 20}\n",
		"strict-mtls/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [pa.yaml]\n",
		"strict-mtls/pa.yaml":            "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: shop}\nspec:\n  mtls: {mode: STRICT}\n",
	},
}

func TestRenderMatchesKubectlKustomize(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Fatal("kubectl is needed as the reference renderer")
	}
	for name, files := range parityCases {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			for p, content := range files {
				full := filepath.Join(root, p)
				os.MkdirAll(filepath.Dir(full), 0o755)
				if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			dir := "app"
			if _, ok := files["overlays/prod/kustomization.yaml"]; ok {
				dir = "overlays/prod"
			}
			assertParity(t, root, dir)
		})
	}
}

// assertParity renders root/dir in-process and with kubectl kustomize and compares the object
// sets.
func assertParity(t *testing.T, root, dir string) {
	t.Helper()
	view, err := tree.FromDir(root, tree.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	ours, err := render.Render(context.Background(), view, dir)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command("kubectl", "kustomize", filepath.Join(root, dir))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize: %v\n%s", err, stderr.String())
	}
	theirs := objectSet(t, out)
	mine := map[string]map[string]any{}
	for _, obj := range ours.Objects {
		mine[object.IDOf(obj).String()] = viaJSON(t, obj.Object)
	}
	if len(mine) == 0 {
		t.Fatal("rendered nothing")
	}
	if diff := cmp.Diff(theirs, mine); diff != "" {
		t.Errorf("objects differ from kubectl kustomize (-kubectl +flotilla):\n%s", diff)
	}
}

func objectSet(t *testing.T, stream []byte) map[string]map[string]any {
	t.Helper()
	set := map[string]map[string]any{}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(stream), 4096)
	for {
		obj := &unstructured.Unstructured{}
		err := dec.Decode(&obj.Object)
		if errors.Is(err, io.EOF) {
			return set
		}
		if err != nil {
			t.Fatal(err)
		}
		if obj.Object != nil {
			set[object.IDOf(obj).String()] = viaJSON(t, obj.Object)
		}
	}
}

// viaJSON normalises an object's numbers to float64, as encoding/json decodes them.
func viaJSON(t *testing.T, obj map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRenderExamplesMatchKubectlKustomize checks every overlay of the example fleet repository.
func TestRenderExamplesMatchKubectlKustomize(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"dev", "staging", "prod"} {
		t.Run(env, func(t *testing.T) { assertParity(t, root, "examples/overlays/"+env) })
	}
}
