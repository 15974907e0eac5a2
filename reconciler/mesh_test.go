package reconciler_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/clusters/localfleet"
	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/reconciler"
	"github.com/flotilla-dev/flotilla/sources/gittest"
)

// meshApp is a bookinfo-like App: reviews v1 and v2 with their Service, DestinationRule and
// VirtualService in base/, and the dev overlay setting the weights with a JSON patch of its
// own file.
func meshApp(ns string, v1, v2 int) map[string]string {
	deployment := func(version string) string {
		return strings.ReplaceAll(`apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-VERSION}
spec:
  selector: {matchLabels: {app: reviews, version: VERSION}}
  template:
    metadata: {labels: {app: reviews, version: VERSION}}
    spec: {containers: [{name: reviews, image: docker.io/istio/examples-bookinfo-reviews-VERSION:1.20.2}]}
`, "VERSION", version)
	}
	return map[string]string{
		"base/kustomization.yaml": "namespace: " + ns + "\nresources: [reviews.yaml, istio/reviews.yaml]\n",
		"base/reviews.yaml": `apiVersion: v1
kind: Service
metadata: {name: reviews}
spec: {selector: {app: reviews}, ports: [{name: http, port: 9080}]}
---
` + deployment("v1") + "---\n" + deployment("v2"),
		"base/istio/reviews.yaml": `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: v3, labels: {version: v3}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 50}
    - {destination: {host: reviews, subset: v2}, weight: 50}
`,
		"overlays/dev/kustomization.yaml": "resources: [../../base]\npatches:\n- {path: weights.yaml, target: {kind: VirtualService, name: reviews}}\n",
		"overlays/dev/weights.yaml":       weights(v1, v2),
	}
}

func weights(v1, v2 int) string {
	return fmt.Sprintf("- {op: replace, path: /spec/http/0/route/0/weight, value: %d}\n- {op: replace, path: /spec/http/0/route/1/weight, value: %d}\n", v1, v2)
}

// meshVersions is kind/name=resourceVersion of each of the App's objects, as kubectl sees them.
func meshVersions(t *testing.T, c *localfleet.Cluster, ns string) string {
	t.Helper()
	return fleettest.Kubectl(t, c, "-n", ns, "get", "services,deployments,destinationrules.networking.istio.io,virtualservices.networking.istio.io",
		"-o", `jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion}{"\n"}{end}`)
}

// TestMeshGuardrailsRefuseBadWeights: a commit whose overlay sets a VirtualService's weights to
// 80/30 fails before the cluster changes at all (kubectl sees every resourceVersion as it was,
// and the client sent no write), with an error naming the overlay's patch file, the object and
// the field. The warning of the good commit (subset v3 selects no pods) is in its result.
func TestMeshGuardrailsRefuseBadWeights(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	repo := gittest.NewRepo(t, t.TempDir(), "fleet")
	repo.Write(meshApp(ns, 90, 10))
	repo.Commit("reviews: 10% on v2")
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "overlays/dev", Sync: config.SyncPolicy{Prune: true}}, ns)
	s := reconciler.NewSyncer(t.TempDir())
	opts := reconciler.Options{Cluster: "dev"}
	good := syncOK(t, s, cfg, opts)[0]
	if len(good.Warnings) != 1 || !strings.Contains(good.Warnings[0], "(DestinationRule reviews."+ns+") base/istio/reviews.yaml: spec.subsets[2].labels: subset v3 selects no pods") {
		t.Errorf("warnings %q, want the one of subset v3 with its file", good.Warnings)
	}
	before := meshVersions(t, c, ns)
	writesBefore := writes(t, s, cfg)["dev"]

	repo.Write(map[string]string{"overlays/dev/weights.yaml": weights(80, 30)})
	repo.Commit("reviews: 30% on v2, but 80% still on v1")
	results, err := s.Sync(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	r := results[0]
	want := "Error (VirtualService reviews." + ns + ") overlays/dev/weights.yaml (patch of base/istio/reviews.yaml): spec.http[0].route: destination weights sum to 110, not 100"
	if r.Status != reconciler.StatusFailed || !strings.Contains(r.Error, want) || !strings.Contains(r.Error, "nothing was applied or pruned") {
		t.Fatalf("status %s, error:\n%s\nwant Failed with\n%s", r.Status, r.Error, want)
	}
	var meshErr *reconciler.MeshError
	if !errors.As(r.Err, &meshErr) || len(meshErr.Findings) != 1 || meshErr.Findings[0].Field != "spec.http[0].route" {
		t.Errorf("error %#v, want a *reconciler.MeshError with the one finding", r.Err)
	}
	if after := meshVersions(t, c, ns); after != before {
		t.Errorf("the cluster changed:\n%s\nthen\n%s", before, after)
	}
	if w := writes(t, s, cfg)["dev"] - writesBefore; w != 0 {
		t.Errorf("%d writes, want none", w)
	}
	if got := fleettest.Kubectl(t, c, "-n", ns, "get", "virtualservice/reviews", "-o", "jsonpath={.spec.http[0].route[*].weight}"); got != "90 10" {
		t.Errorf("weights in the cluster %q, want the good commit's 90 10", got)
	}
}

// TestMeshGuardrailsAskTheCluster: a destination and a subset that the render does not hold are
// looked up in the cluster (a Service and a DestinationRule created there with kubectl resolve
// them), and those the cluster lacks too fail the sync, naming the file and field.
func TestMeshGuardrailsAskTheCluster(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	fleettest.Kubectl(t, c, "-n", ns, "create", "service", "clusterip", "ratings", "--tcp=9080:9080")
	dr := t.TempDir() + "/dr.yaml"
	if err := os.WriteFile(dr, []byte("apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: ratings}\nspec: {host: ratings, subsets: [{name: v1, labels: {version: v1}}]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fleettest.Kubectl(t, c, "-n", ns, "apply", "-f", dr)
	files := meshApp(ns, 90, 10)
	files["base/kustomization.yaml"] = "namespace: " + ns + "\nresources: [reviews.yaml, istio/reviews.yaml, istio/ratings.yaml]\n"
	ratings := func(subset, other string) string {
		return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings}
spec:
  hosts: [ratings]
  http:
  - route:
    - {destination: {host: ratings, subset: ` + subset + `}, weight: 50}
    - {destination: {host: ` + other + `}, weight: 50}
`
	}
	files["base/istio/ratings.yaml"] = ratings("v1", "ratings")
	repo := gittest.NewRepo(t, t.TempDir(), "fleet")
	repo.Write(files)
	repo.Commit("ratings routed to the cluster's Service")
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "overlays/dev"}, ns)
	s := reconciler.NewSyncer(t.TempDir())
	opts := reconciler.Options{Cluster: "dev"}
	syncOK(t, s, cfg, opts)

	repo.Write(map[string]string{"base/istio/ratings.yaml": ratings("v9", "ratingz")})
	repo.Commit("two typos")
	results, err := s.Sync(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`Error [IST0101] (VirtualService ratings.` + ns + `) base/istio/ratings.yaml: spec.http[0].route[0].destination.subset: Referenced host+subset in destinationrule not found: "ratings+v9"`,
		`Error [IST0101] (VirtualService ratings.` + ns + `) base/istio/ratings.yaml: spec.http[0].route[1].destination.host: Referenced host not found: "ratingz"`,
	} {
		if r := results[0]; r.Status != reconciler.StatusFailed || !strings.Contains(r.Error, want) {
			t.Errorf("status %s, error:\n%s\nwant Failed with\n%s", r.Status, r.Error, want)
		}
	}
}
