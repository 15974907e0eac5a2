package clusters

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/kube-openapi/pkg/spec3"

	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/sources/render"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

// appsV1 is a part of the apps/v1 OpenAPI v3 document an API server serves: enough of a
// Deployment to tell declared fields from others.
const appsV1 = `{"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.36.3"}, "paths": {},
"components": {"schemas": {
  "io.k8s.api.apps.v1.Deployment": {"type": "object",
    "x-kubernetes-group-version-kind": [{"group": "apps", "kind": "Deployment", "version": "v1"}],
    "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
      "metadata": {"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]},
      "spec": {"allOf": [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}]}}},
  "io.k8s.api.apps.v1.DeploymentSpec": {"type": "object",
    "properties": {"replicas": {"type": "integer", "format": "int32"}, "paused": {"type": "boolean"},
      "selector": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
      "template": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}},
  "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {"type": "object",
    "properties": {"name": {"type": "string"}, "namespace": {"type": "string"},
      "labels": {"type": "object", "additionalProperties": {"type": "string"}},
      "annotations": {"type": "object", "additionalProperties": {"type": "string"}}}}}}}`

// loadedSchemas returns Schemas of a cluster that serves appsV1, parsed already: Check needs
// no cluster.
func loadedSchemas(t *testing.T) *Schemas {
	t.Helper()
	var doc spec3.OpenAPI
	if err := json.Unmarshal([]byte(appsV1), &doc); err != nil {
		t.Fatal(err)
	}
	tc, err := managedfields.NewTypeConverter(doc.Components.Schemas, false)
	if err != nil {
		t.Fatal(err)
	}
	const u = "/openapi/v3/apis/apps/v1?hash=test"
	cache := NewSchemaCache()
	done := make(chan struct{})
	close(done)
	cache.parsed[u] = &parsedSchema{done: done, converter: tc}
	return &Schemas{target: &Target{Name: "test", schemaCache: cache}, urls: map[string]string{"apis/apps/v1": u}}
}

// TestCheckNamesThePatchThatAddedAField: a field the schema does not declare is blamed on the
// overlay's patch that set it, with the base file the object came from; a field of the base,
// on the base file, in an error of its own; without origins, on the file FileOf names.
func TestCheckNamesThePatchThatAddedAField(t *testing.T) {
	repo := map[string]string{
		"base/kustomization.yaml": "resources: [app.yaml]\n",
		"base/app.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
`,
		"overlays/prod/kustomization.yaml": "resources: [../../base]\npatches: [{path: patch.yaml}]\n",
		"overlays/prod/patch.yaml":         "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {replica: 3}\n",
	}
	const (
		want   = "overlays/prod/patch.yaml (patch of base/app.yaml): Deployment.apps/shop/web: .spec.replica: field not declared in schema"
		labelz = "namespace: shop, labelz: {a: b}}"
	)
	tests := []struct {
		name  string
		base  string // replaces "namespace: shop}" in base/app.yaml
		patch string // replaces "namespace: shop}" in the patch
		opts  func(view *tree.FS) CheckOptions
		want  []string // the errors, in any order
	}{
		{name: "field of the patch", want: []string{want}},
		{name: "fields of the patch and of the base", base: labelz,
			want: []string{"base/app.yaml: Deployment.apps/shop/web: .metadata.labelz: field not declared in schema", want}},
		{name: "two fields of the patch", patch: labelz,
			want: []string{"overlays/prod/patch.yaml (patch of base/app.yaml): Deployment.apps/shop/web: errors:",
				"  .metadata.labelz: field not declared in schema", "  .spec.replica: field not declared in schema"}},
		{name: "files only", opts: func(view *tree.FS) CheckOptions {
			files := render.Files(view, "overlays/prod")
			return CheckOptions{FileOf: func(id object.ID) string { return files[id] }}
		}, want: []string{"base/app.yaml: Deployment.apps/shop/web: .spec.replica: field not declared in schema"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := maps.Clone(repo)
			if tt.base != "" {
				files["base/app.yaml"] = strings.Replace(files["base/app.yaml"], "namespace: shop}", tt.base, 1)
			}
			if tt.patch != "" {
				files["overlays/prod/patch.yaml"] = strings.Replace(files["overlays/prod/patch.yaml"], "namespace: shop}", tt.patch, 1)
			}
			view, err := tree.FromFiles(files, tree.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			m, err := render.Render(context.Background(), view, "overlays/prod")
			if err != nil {
				t.Fatal(err)
			}
			opts := tt.opts
			if opts == nil {
				opts = func(view *tree.FS) CheckOptions {
					origins := render.Origins(view, "overlays/prod")
					return CheckOptions{OriginOf: func(id object.ID) render.Origin { return origins[id] }}
				}
			}
			err = loadedSchemas(t).Check(context.Background(), m, opts(view.Fresh()))
			if err == nil {
				t.Fatal("Check found no invalid field")
			}
			got := strings.Split(err.Error(), "\n")
			if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(tt.want))) {
				t.Errorf("error:\n%s\nwant, in any order:\n%s", err, strings.Join(tt.want, "\n"))
			}
			if first := tt.want[0]; got[0] != first && strings.HasSuffix(first, ":") {
				t.Errorf("error:\n%s\nwant it to start with %q", err, first)
			}
		})
	}
}

// TestFieldPath: the path that starts a schema error ends at the first ": " outside list keys.
func TestFieldPath(t *testing.T) {
	for e, want := range map[string]string{
		".spec.replica: field not declared in schema":                         ".spec.replica",
		`.spec.containers[name="a: b]"].imagee: field not declared in schema`: `.spec.containers[name="a: b]"].imagee`,
		`.spec.ports[port=80,protocol="TCP"].x: expected string, got 1`:       `.spec.ports[port=80,protocol="TCP"].x`,
		`[="a\"]: b"]: duplicate`:                                             `[="a\"]: b"]`,
		"element 0: field not declared in schema":                             "",
		".spec.replica": "",
	} {
		if got := fieldPath(e); got != want {
			t.Errorf("fieldPath(%q) = %q, want %q", e, got, want)
		}
	}
}
