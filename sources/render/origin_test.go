package render_test

import (
	"context"
	"testing"

	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/sources/render"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

// patchedFiles is a base of two Deployments and a Service, and an overlay that changes them with
// every kind of patch kustomize has: file and inline, strategic merge and JSON 6902, through
// patches, patchesStrategicMerge and patchesJson6902, with and without a target; the base has a
// patch of its own, and the overlay renames every object.
var patchedFiles = map[string]string{
	"base/kustomization.yaml": `resources: [app.yaml]
patches:
- patch: |
    - {op: add, path: /spec/minReadySeconds, value: 5}
  target: {kind: Deployment, name: web}
`,
	"base/app.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}, {name: log, image: busybox}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: other, namespace: shop}
spec:
  selector: {matchLabels: {app: other}}
  template:
    metadata: {labels: {app: other}}
    spec: {containers: [{name: other, image: nginx}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {ports: [{port: 80}]}
`,
	"overlays/prod/kustomization.yaml": `resources: [../../base]
namePrefix: prod-
patches:
- path: patch.yaml
- path: ops.yaml
  target: {group: apps, kind: Deployment, name: web}
- patch: |
    - {op: add, path: /spec/bar, value: 1}
  target: {kind: Deployment, name: "w.*"}
- patch: |
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: other, namespace: shop}
    spec: {replica: 1, paused: true}
patchesStrategicMerge:
- smp.yaml
patchesJson6902:
- path: ops6902.yaml
  target: {group: apps, version: v1, kind: Deployment, name: web}
`,
	"overlays/prod/patch.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replica: 3
  template:
    spec:
      containers:
      - {name: web, imagee: nginx:1.27}
`,
	"overlays/prod/ops.yaml": "- {op: add, path: /spec/foo, value: {deep: 1}}\n- {op: replace, path: /spec/template/spec/containers/1/image, value: busybox:2}\n",
	"overlays/prod/smp.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {paused: true, bar: 2}
`,
	"overlays/prod/ops6902.yaml": `[{"op": "add", "path": "/metadata/labels", "value": {"tier": "front"}}]`,
}

// TestOriginsNameThePatchThatSetAField: a field a patch set is blamed on that patch's file
// (the kustomization's, for an inline patch), with the object's own file; a field no patch of the
// object set, on the object's file alone. Several patches are named in the order kustomize
// applies them.
func TestOriginsNameThePatchThatSetAField(t *testing.T) {
	view, err := tree.FromFiles(patchedFiles, tree.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	m, err := render.Render(context.Background(), view, "overlays/prod")
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range m.Objects {
		for key := range obj.GetAnnotations() {
			t.Errorf("%s carries annotation %s: tracking must not reach the cluster", object.IDOf(obj), key)
		}
	}
	origins := render.Origins(view.Fresh(), "overlays/prod")
	web := object.ID{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "prod-web"}
	other := object.ID{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "prod-other"}
	service := object.ID{Kind: "Service", Namespace: "shop", Name: "prod-web"}
	const (
		base    = "base/app.yaml"
		ofBase  = " (patch of base/app.yaml)"
		overlay = "overlays/prod/"
	)
	tests := []struct {
		name  string
		id    object.ID
		field string
		want  string
	}{
		{"strategic merge patch file", web, ".spec.replica", overlay + "patch.yaml" + ofBase},
		{"field in a keyed list item", web, `.spec.template.spec.containers[name="web"].imagee`, overlay + "patch.yaml" + ofBase},
		{"field of the base in a patched list", web, `.spec.template.spec.containers[name="web"].image`, base},
		{"field of the base", web, ".spec.selector.matchLabels", base},
		{"no field", web, "", base},
		{"JSON 6902 file under patches", web, ".spec.foo", overlay + "ops.yaml" + ofBase},
		{"inside a value a JSON 6902 operation added", web, ".spec.foo.deep", overlay + "ops.yaml" + ofBase},
		{"JSON 6902 operation on a list index", web, `.spec.template.spec.containers[name="log"].image`, overlay + "ops.yaml" + ofBase},
		{"JSON 6902 file under patchesJson6902", web, ".metadata.labels.tier", overlay + "ops6902.yaml" + ofBase},
		{"inline patch of the base", web, ".spec.minReadySeconds", "base/kustomization.yaml" + ofBase},
		{"two patches set the field", web, ".spec.bar", overlay + "smp.yaml, " + overlay + "kustomization.yaml (patches of base/app.yaml)"},
		{"patchesStrategicMerge file", web, ".spec.paused", overlay + "smp.yaml" + ofBase},
		{"inline strategic merge patch of another object", other, ".spec.replica", overlay + "kustomization.yaml" + ofBase},
		{"patch of another object", other, ".spec.foo", base},
		{"patch of another kind", service, ".spec.replica", base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			origin, ok := origins[tt.id]
			if !ok {
				t.Fatalf("no origin for %s; have %v", tt.id, origins)
			}
			if got := origin.FileOf(tt.field); got != tt.want {
				t.Errorf("FileOf(%q) = %q, want %q", tt.field, got, tt.want)
			}
		})
	}
	if files := render.Files(view.Fresh(), "overlays/prod"); files[web] != base {
		t.Errorf("Files names %q for %s, want %q", files[web], web, base)
	}
}

// TestOriginsFollowComponentsAndGenerators: a component's patch applies to what the
// kustomization that includes it holds, and a patch of a generated object (whose name the
// render hashes) is found by the name the generator gives it; a patch in the kustomization
// that generated the object is named as that kustomization alone.
func TestOriginsFollowComponentsAndGenerators(t *testing.T) {
	view, err := tree.FromFiles(map[string]string{
		"app/kustomization.yaml": "resources: [web.yaml]\ncomponents: [../tuning]\nconfigMapGenerator: [{name: settings, literals: [mode=fast]}]\n" +
			"patches: [{patch: '{apiVersion: v1, kind: ConfigMap, metadata: {name: settings}, dataa: {x: y}}'}]\n",
		"app/web.yaml":              deployment,
		"tuning/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches: [{path: tune.yaml}]\n",
		"tuning/tune.yaml":          "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replica: 2}\n",
	}, tree.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	origins := render.Origins(view, "app")
	web := origins[object.ID{Group: "apps", Kind: "Deployment", Name: "web"}]
	if got, want := web.FileOf(".spec.replica"), "tuning/tune.yaml (patch of app/web.yaml)"; got != want {
		t.Errorf("web: FileOf = %q, want %q", got, want)
	}
	var settings render.Origin
	for id, origin := range origins {
		if id.Kind == "ConfigMap" {
			settings = origin
		}
	}
	if len(settings.Patches) != 1 {
		t.Errorf("settings: patches %+v, want the kustomization's", settings.Patches)
	}
	if got, want := settings.FileOf(".dataa"), "app/kustomization.yaml"; got != want {
		t.Errorf("settings: FileOf = %q, want %q", got, want)
	}
}
