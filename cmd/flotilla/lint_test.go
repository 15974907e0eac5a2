package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/sources/gittest"
)

func TestLintExamplesPasses(t *testing.T) {
	res := flotilla(t, "lint", "../../examples/")
	if res.code != 0 || strings.Count(res.stdout, "✔ No validation issues found.") != 3 || !strings.Contains(res.stdout, "0 errors, 0 warnings in 3 renders") {
		t.Fatalf("lint examples/: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	for _, overlay := range []string{"examples/overlays/dev:", "examples/overlays/staging:", "examples/overlays/prod:"} {
		if !strings.Contains(res.stdout, overlay) {
			t.Errorf("lint examples/ did not render %s (only the overlays, not the base they include):\n%s", overlay, res.stdout)
		}
	}
}

// brokenMesh is a fleet repository whose base has a subset no DestinationRule defines and an
// AuthorizationPolicy that allows nothing, and whose dev overlay sets the weights to 80/30.
var brokenMesh = map[string]string{
	"base/kustomization.yaml": "namespace: shop\nresources: [reviews.yaml, istio/vs.yaml, istio/dr.yaml, istio/authz.yaml]\n",
	"base/reviews.yaml": `apiVersion: v1
kind: Service
metadata: {name: reviews}
spec: {selector: {app: reviews}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v1}
spec:
  selector: {matchLabels: {app: reviews, version: v1}}
  template:
    metadata: {labels: {app: reviews, version: v1}}
    spec: {containers: [{name: reviews, image: reviews:v1}]}
`,
	"base/istio/vs.yaml": `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 90}
    - {destination: {host: reviews, subset: v2}, weight: 10}
    mirror: {host: reviews-shadow}
`,
	"base/istio/dr.yaml": `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}]
`,
	"base/istio/authz.yaml": `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-nothing}
spec: {}
`,
	"overlays/dev/kustomization.yaml":  "resources: [../../base]\npatches:\n- {path: weights.yaml, target: {kind: VirtualService, name: reviews}}\n",
	"overlays/dev/weights.yaml":        "- {op: replace, path: /spec/http/0/route/0/weight, value: 80}\n- {op: replace, path: /spec/http/0/route/1/weight, value: 30}\n",
	"overlays/prod/kustomization.yaml": "resources: [../../base]\n",
}

func TestLintNamesFilesAcrossOverlays(t *testing.T) {
	repo := gittest.NewRepo(t, t.TempDir(), "fleet")
	repo.Write(brokenMesh)
	repo.Commit("a broken mesh")

	res := flotilla(t, "lint", repo.Work)
	for _, want := range []string{
		"overlays/dev:\n",
		"Error (VirtualService reviews.shop) overlays/dev/weights.yaml (patch of base/istio/vs.yaml): spec.http[0].route: destination weights sum to 110, not 100",
		`Error [IST0101] (VirtualService reviews.shop) base/istio/vs.yaml: spec.http[0].route[1].destination.subset: Referenced host+subset in destinationrule not found: "reviews+v2" (DestinationRule reviews.shop defines v1)`,
		"Warning (AuthorizationPolicy allow-nothing.shop) base/istio/authz.yaml: spec.rules: ALLOW with no rules denies every request to every workload in namespace shop",
		"Info (VirtualService reviews.shop) base/istio/vs.yaml: spec.http[0].mirror.host: Service shop/reviews-shadow or ServiceEntry host reviews-shadow.shop.svc.cluster.local: not in the render; not checked (no cluster access: a sync checks it)",
		"overlays/prod:\n",
		"3 errors, 2 warnings in 2 renders",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("lint output lacks\n%s\nin\n%s", want, res.stdout)
		}
	}
	if res.code != 1 || strings.Count(res.stdout, "destination weights sum to") != 1 {
		t.Errorf("exit %d, want 1, and the weights only in dev:\n%s%s", res.code, res.stdout, res.stderr)
	}

	prod := flotilla(t, "lint", filepath.Join(repo.Work, "overlays/prod"), "-o", "json")
	var reports []struct {
		Target, Path     string
		Errors, Warnings int
		Findings         []struct {
			Severity, Code, Name, Field, File, Message, Text string
			Object                                           struct{ Kind, Namespace, Name string }
		}
		Unchecked []struct{ Kind, Namespace, Name, Field, File string }
	}
	if err := json.Unmarshal([]byte(prod.stdout), &reports); err != nil || prod.code != 1 {
		t.Fatalf("lint -o json: exit %d, %v\n%s%s", prod.code, err, prod.stdout, prod.stderr)
	}
	if len(reports) != 1 || reports[0].Path != "overlays/prod" || reports[0].Errors != 1 || reports[0].Warnings != 1 || len(reports[0].Findings) != 2 {
		t.Fatalf("lint -o json = %+v", reports)
	}
	f := reports[0].Findings[0]
	if f.Severity != "error" || f.Code != "IST0101" || f.Name != "ReferencedResourceNotFound" || f.Object.Kind != "VirtualService" || f.Object.Namespace != "shop" ||
		f.Field != "spec.http[0].route[1].destination.subset" || f.File != "base/istio/vs.yaml" || !strings.HasPrefix(f.Text, "Error [IST0101]") {
		t.Errorf("finding = %+v", f)
	}
	if u := reports[0].Unchecked; len(u) != 2 || u[0].Kind != "Service" || u[0].Name != "reviews-shadow" || u[0].File != "base/istio/vs.yaml" || u[1].Kind != "ServiceEntry" {
		t.Errorf("unchecked = %+v", u)
	}
}

func TestLintFromConfig(t *testing.T) {
	repo := gittest.NewRepo(t, t.TempDir(), "fleet")
	repo.Write(brokenMesh)
	repo.Commit("a broken mesh")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "flotilla.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`apiVersion: flotilla.dev/v1alpha1
kind: Source
metadata: {name: fleet}
spec: {url: %s, ref: {branch: main}}
---
apiVersion: flotilla.dev/v1alpha1
kind: Cluster
metadata: {name: dev-1, labels: {env: dev}}
spec: {kubeconfig: nowhere/kubeconfig}
---
apiVersion: flotilla.dev/v1alpha1
kind: Cluster
metadata: {name: prod-1, labels: {env: prod}}
spec: {kubeconfig: nowhere/kubeconfig}
---
apiVersion: flotilla.dev/v1alpha1
kind: App
metadata: {name: reviews}
spec:
  source: fleet
  path: overlays/{{ .Cluster.Labels.env }}
`, repo.FileURL())), 0o644)

	res := flotilla(t, "lint", "--config", cfg, "--cache-dir", t.TempDir())
	for _, want := range []string{
		"reviews/dev-1:\n",
		"Error (VirtualService reviews.shop) overlays/dev/weights.yaml (patch of base/istio/vs.yaml): spec.http[0].route:",
		"reviews/prod-1:\n",
		"3 errors, 2 warnings in 2 renders",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("lint --config output lacks\n%s\nin\n%s%s", want, res.stdout, res.stderr)
		}
	}
	if res.code != 1 {
		t.Errorf("exit %d, want 1", res.code)
	}
	one := flotilla(t, "lint", "--config", cfg, "--cache-dir", t.TempDir(), "--cluster", "prod-1")
	if one.code != 1 || strings.Contains(one.stdout, "dev-1") || !strings.Contains(one.stdout, "1 error, 1 warning in 1 render") {
		t.Errorf("lint --cluster prod-1: exit %d\n%s%s", one.code, one.stdout, one.stderr)
	}
	for _, bad := range [][]string{{"lint"}, {"lint", "x", "--config", cfg}, {"lint", "--app", "reviews"}} {
		if r := flotilla(t, bad...); r.code != 1 || !strings.Contains(r.stderr, "error:") {
			t.Errorf("flotilla %s: exit %d, stderr %q", strings.Join(bad, " "), r.code, r.stderr)
		}
	}
}
