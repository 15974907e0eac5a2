package reconciler_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/reconciler"
	"github.com/flotilla-dev/flotilla/sources/gittest"
)

// TestIstioHealthFromStatus: Istio resources are healthy once applied when Istio writes no
// status (these clusters have Istio's CRDs, not its control plane), and report the status
// Istio writes once one is there, set here with kubectl on the status subresource: Reconciled
// False (proxies not all up to date) is progressing, a refusal by ztunnel or an analysis error
// is degraded (and a sync waiting for health says so), a status about an older generation
// waits for Istio to look at the new one.
func TestIstioHealthFromStatus(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	files := meshApp(ns, 90, 10)
	files["base/kustomization.yaml"] = "namespace: " + ns + "\nresources: [reviews.yaml, istio/reviews.yaml, istio/security.yaml]\n"
	files["base/istio/security.yaml"] = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: reviews-gateway}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: [reviews.example.com]}]
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews}
spec:
  selector: {matchLabels: {app: reviews}}
  rules: [{to: [{operation: {methods: [GET]}}]}]
`
	repo := gittest.NewRepo(t, t.TempDir(), "fleet")
	repo.Write(files)
	repo.Commit("reviews with its mesh policy")
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "overlays/dev", Health: config.HealthPolicy{Timeout: config.Duration{Duration: time.Minute}}}, ns)
	s := reconciler.NewSyncer(t.TempDir())
	opts := reconciler.Options{Cluster: "dev", Wait: true}
	synced := syncOK(t, s, cfg, opts)[0]
	if synced.Status != reconciler.StatusHealthy {
		t.Fatalf("status %s, want Healthy: Istio resources without a status are healthy once applied", synced.Status)
	}

	istio := map[string]object.ID{}
	versions := map[object.ID]string{}
	var ids []object.ID
	for _, o := range []struct{ group, kind, name string }{
		{"networking.istio.io", "VirtualService", "reviews"}, {"networking.istio.io", "DestinationRule", "reviews"},
		{"networking.istio.io", "Gateway", "reviews-gateway"}, {"security.istio.io", "PeerAuthentication", "default"},
		{"security.istio.io", "AuthorizationPolicy", "reviews"},
	} {
		id := object.ID{Group: o.group, Kind: o.kind, Namespace: ns, Name: o.name}
		istio[o.kind], versions[id] = id, "v1"
		ids = append(ids, id)
	}
	setStatus := func(kind, name, status string) {
		t.Helper()
		fleettest.Kubectl(t, c, "-n", ns, "patch", strings.ToLower(kind)+"."+istio[kind].Group, name, "--subresource=status", "--type=merge", "-p", `{"status":`+status+`}`)
	}
	setStatus("VirtualService", "reviews", `{"conditions":[{"type":"Reconciled","status":"False","message":"1/2 proxies up to date.","observedGeneration":"1"}]}`)
	setStatus("DestinationRule", "reviews", `{"validationMessages":[{"level":"ERROR","type":{"code":"IST0101","name":"ReferencedResourceNotFound"},"documentationUrl":"https://istio.io/latest/docs/reference/config/analysis/ist0101/"}]}`)
	setStatus("Gateway", "reviews-gateway", `{"observedGeneration":1,"conditions":[{"type":"Reconciled","status":"True","message":"2/2 proxies up to date."}]}`)
	setStatus("AuthorizationPolicy", "reviews", `{"conditions":[{"type":"ZtunnelAccepted","status":"False","reason":"UnsupportedValue","message":"ztunnel does not support HTTP attributes (found: methods)","observedGeneration":"1"}]}`)
	setStatus("PeerAuthentication", "default", `{"conditions":[{"type":"Reconciled","status":"True","observedGeneration":"1"}]}`)
	// A new spec (generation 2) that Istio has not looked at yet.
	fleettest.Kubectl(t, c, "-n", ns, "patch", "peerauthentication.security.istio.io", "default", "--type=merge", "-p", `{"spec":{"mtls":{"mode":"PERMISSIVE"}}}`)

	target, err := s.Target(&cfg.Clusters[0])
	if err != nil {
		t.Fatal(err)
	}
	health, err := clusters.NewManager(target, ns).Health(context.Background(), ids, versions)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"VirtualService":      "Progressing Reconciled: 1/2 proxies up to date.",
		"DestinationRule":     "Degraded Istio analysis: IST0101 ReferencedResourceNotFound (https://istio.io/latest/docs/reference/config/analysis/ist0101/)",
		"Gateway":             "Healthy ",
		"AuthorizationPolicy": "Degraded ZtunnelAccepted UnsupportedValue: ztunnel does not support HTTP attributes (found: methods)",
		"PeerAuthentication":  "Progressing Istio has not reported on generation 2 yet (its status is about generation 1)",
	}
	for _, h := range health {
		if got := string(h.Status) + " " + h.Reason; got != want[h.ID.Kind] {
			t.Errorf("%s: %q, want %q", h.ID, got, want[h.ID.Kind])
		}
	}

	// A sync that waits for health (taking the PeerAuthentication's mode back) stops at the
	// first degraded one.
	opts.ForceConflicts = true
	results, err := s.Sync(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if r := results[0]; r.Status != reconciler.StatusDegraded || !strings.Contains(r.Error, "is degraded: ") {
		t.Errorf("status %s, error %q; want Degraded by an Istio resource", r.Status, r.Error)
	}
}
