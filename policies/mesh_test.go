package policies

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/flotilla-dev/flotilla/internal/object"
)

// bookinfo is a mesh in the style of Istio's bookinfo sample, in namespace shop, that passes
// every guardrail: each test changes, adds or removes documents by name.
var bookinfo = map[string]string{
	"services": `apiVersion: v1
kind: Service
metadata: {name: productpage, namespace: shop}
spec: {selector: {app: productpage}, ports: [{name: http, port: 9080}]}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: shop}
spec: {selector: {app: reviews}, ports: [{name: http, port: 9080}]}
---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: shop}
spec: {selector: {app: ratings}, ports: [{name: http, port: 9080}]}`,
	"workloads": deployment("productpage", "v1") + "---\n" + deployment("reviews", "v1") + "---\n" + deployment("reviews", "v2") + "---\n" +
		deployment("reviews", "v3") + "---\n" + deployment("ratings", "v1") + "---\n" + `apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-ingressgateway, namespace: istio-ingress}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  template:
    metadata: {labels: {istio: ingressgateway}}
    spec: {containers: [{name: istio-proxy, image: auto}]}`,
	"cert": `apiVersion: v1
kind: Secret
metadata: {name: bookinfo-cert, namespace: istio-ingress}
type: kubernetes.io/tls`,
	"gateway": `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bookinfo-gateway, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [bookinfo.example.com]
    tls: {mode: SIMPLE, credentialName: bookinfo-cert}`,
	"vs-productpage": `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: productpage, namespace: shop}
spec:
  hosts: [bookinfo.example.com]
  gateways: [bookinfo-gateway]
  http:
  - match: [{uri: {exact: /productpage}}]
    route:
    - destination: {host: productpage, port: {number: 9080}}`,
	"vs-reviews": `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 90
    - destination: {host: reviews.shop.svc.cluster.local, subset: v2}
      weight: 10`,
	"dr-reviews": `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: v3, labels: {version: v3}}`,
	"peer": `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec: {mtls: {mode: STRICT}}`,
	"authz": `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews, namespace: shop}
spec:
  selector: {matchLabels: {app: reviews}}
  action: ALLOW
  rules:
  - from:
    - source:
        principals: [cluster.local/ns/shop/sa/bookinfo-productpage]
        namespaces: [shop, "team-*"]`,
}

func deployment(app, version string) string {
	return strings.NewReplacer("APP", app, "VERSION", version).Replace(`apiVersion: apps/v1
kind: Deployment
metadata: {name: APP-VERSION, namespace: shop}
spec:
  selector: {matchLabels: {app: APP, version: VERSION}}
  template:
    metadata: {labels: {app: APP, version: VERSION}}
    spec: {containers: [{name: APP, image: docker.io/istio/examples-bookinfo-APP-VERSION:1.20.2}]}
`)
}

// mesh renders bookinfo with the changes ("" removes a document) into objects.
func meshObjects(t testing.TB, changes map[string]string) []*unstructured.Unstructured {
	t.Helper()
	docs := map[string]string{}
	for name, doc := range bookinfo {
		docs[name] = doc
	}
	for name, doc := range changes {
		docs[name] = doc
	}
	names := make([]string, 0, len(docs))
	for name := range docs {
		names = append(names, name)
	}
	sort.Strings(names)
	var objs []*unstructured.Unstructured
	for _, name := range names {
		objs = append(objs, decode(t, docs[name])...)
	}
	return objs
}

func decode(t testing.TB, stream string) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	for _, doc := range strings.Split(stream, "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		b, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatalf("%v in\n%s", err, doc)
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(b); err != nil {
			t.Fatalf("%v in\n%s", err, doc)
		}
		objs = append(objs, obj)
	}
	return objs
}

// summary is "error IST0101 VirtualService/shop/reviews spec.http[0]...: message".
func summary(fs MeshFindings) []string {
	var out []string
	for _, f := range fs {
		out = append(out, strings.TrimSpace(string(f.Severity)+" "+f.Code)+" "+f.Object.Kind+"/"+f.Object.Namespace+"/"+f.Object.Name+" "+f.Field+": "+f.Message)
	}
	return out
}

// checkFindings compares findings with want, each "severity [code] Kind/ns/name field: part of
// the message".
func checkFindings(t *testing.T, got MeshFindings, want []string) {
	t.Helper()
	lines := summary(got)
	ok := len(lines) == len(want)
	for i := 0; ok && i < len(want); i++ {
		head, msg, _ := strings.Cut(want[i], ": ")
		gotHead, gotMsg, _ := strings.Cut(lines[i], ": ")
		ok = head == gotHead && strings.Contains(gotMsg, msg)
	}
	if !ok {
		t.Errorf("findings (-want +got):\n%s", cmp.Diff(want, lines))
	}
}

func TestBookinfoPasses(t *testing.T) {
	report := NewMesh(meshObjects(t, nil), MeshOptions{}).Check(nil)
	checkFindings(t, report.Findings, nil)
	if len(report.Unknown) != 0 {
		t.Errorf("unknown references %v, want none: bookinfo resolves every one itself", report.Unknown)
	}
}

func TestVirtualServiceWeights(t *testing.T) {
	tests := []struct {
		name, vs string
		want     []string
	}{
		{"80/30", `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 80}
    - {destination: {host: reviews, subset: v2}, weight: 30}`,
			[]string{"error VirtualService/shop/reviews spec.http[0].route: destination weights sum to 110, not 100 (route[0].weight 80 + route[1].weight 30); Istio would share the traffic 73% / 27%"}},
		{"weights omitted on two destinations", `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
    - destination: {host: reviews, subset: v2}`,
			[]string{"error IST0106 VirtualService/shop/reviews spec.http[0].route: total destination weight = 0"}},
		{"single destination may omit it", `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}`, nil},
		{"second http route and tcp route", `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 50}
    - {destination: {host: reviews, subset: v3}, weight: 40}
  tcp:
  - route:
    - {destination: {host: ratings}, weight: 60}
    - {destination: {host: ratings}, weight: 60}`,
			[]string{
				"error VirtualService/shop/reviews spec.http[1].route: destination weights sum to 90",
				"error VirtualService/shop/reviews spec.tcp[0].route: destination weights sum to 120",
			}},
		{"100/0/0 as bookinfo ships it", `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 100}
    - {destination: {host: reviews, subset: v2}, weight: 0}
    - {destination: {host: reviews, subset: v3}, weight: 0}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFindings(t, NewMesh(meshObjects(t, map[string]string{"vs-reviews": tt.vs}), MeshOptions{}).Check(nil).Findings, tt.want)
		})
	}
}

func TestVirtualServiceReferences(t *testing.T) {
	tests := []struct {
		name    string
		changes map[string]string
		want    []string
	}{
		{"host typo", map[string]string{"vs-reviews": `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviewz, subset: v1}`},
			// Not in the render and no cluster to ask: unknown, no finding (see the cluster test).
			nil},
		{"missing subset", map[string]string{"vs-reviews": `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 50}
    - {destination: {host: reviews, subset: v4}, weight: 50}`},
			[]string{`error IST0101 VirtualService/shop/reviews spec.http[0].route[1].destination.subset: Referenced host+subset in destinationrule not found: "reviews+v4" (DestinationRule reviews.shop defines v1, v2, v3)`}},
		{"subset of a host in another namespace, defined there", map[string]string{
			"vs-reviews": `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings-from-web, namespace: web}
spec:
  hosts: [ratings.shop.svc.cluster.local]
  http:
  - route:
    - destination: {host: ratings.shop.svc.cluster.local, subset: v1}`,
			"dr-ratings": `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ratings, namespace: shop}
spec:
  host: ratings
  subsets: [{name: v1, labels: {version: v1}}]`}, nil},
		{"host with a dot is not a short name", map[string]string{"vs-reviews": `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews.shop}`}, // unknown without a cluster (a ServiceEntry there may declare it), but suspect
			[]string{`warning VirtualService/shop/reviews spec.http[0].route[0].destination.host: "reviews.shop" is no Service's host unless a ServiceEntry declares it (Istio reads a host with a dot as fully qualified: for Service shop/reviews write reviews.shop.svc.cluster.local)`}},
		{"missing gateway", map[string]string{"vs-productpage": `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: productpage, namespace: shop}
spec:
  hosts: [bookinfo.example.com]
  gateways: [bookinfo-gateway, mesh, istio-system/shared-gateway]
  http:
  - match: [{uri: {exact: /productpage}, gateways: [bookinfo-gatway]}]
    route:
    - destination: {host: productpage}`},
			nil}, // both unknown: the cluster may hold them
		{"external host of a ServiceEntry", map[string]string{
			"vs-reviews": `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [api.example.com]
  http:
  - route:
    - destination: {host: api.example.com}`,
			"se": `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: example-api, namespace: shop}
spec:
  hosts: ["*.example.com"]
  ports: [{number: 443, name: https, protocol: TLS}]
  resolution: DNS`}, nil},
		{"two VirtualServices on the mesh gateway claim reviews", map[string]string{"vs-canary": `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-canary, namespace: shop}
spec:
  hosts: [reviews.shop.svc.cluster.local]
  gateways: [mesh]
  http:
  - route:
    - destination: {host: reviews, subset: v3}`},
			[]string{
				"error IST0109 VirtualService/shop/reviews spec.hosts[0]: The VirtualServices reviews-canary.shop,reviews.shop associated with mesh gateway define the same host reviews.shop.svc.cluster.local which can lead to undefined behavior.",
				"error IST0109 VirtualService/shop/reviews-canary spec.hosts[0]: The VirtualServices reviews-canary.shop,reviews.shop",
			}},
		{"same host, one bound to an ingress gateway only", map[string]string{"vs-canary": `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-edge, namespace: shop}
spec:
  hosts: [reviews]
  gateways: [bookinfo-gateway]
  http:
  - route:
    - destination: {host: reviews, subset: v3}`}, nil},
		{"same host, each exported to its own namespace", map[string]string{"vs-canary": `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: team-b}
spec:
  hosts: [reviews.shop.svc.cluster.local]
  exportTo: ["."]
  http:
  - route:
    - destination: {host: reviews.shop.svc.cluster.local, subset: v1}`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFindings(t, NewMesh(meshObjects(t, tt.changes), MeshOptions{}).Check(nil).Findings, tt.want)
		})
	}
}

func TestLookupsAgainstTheCluster(t *testing.T) {
	vs := `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  gateways: [mesh, istio-system/shared-gateway]
  http:
  - route:
    - {destination: {host: reviewz, subset: v1}, weight: 50}
    - {destination: {host: details, subset: v1}, weight: 30}
    - {destination: {host: reviews.shop}, weight: 20}`
	mesh := NewMesh(meshObjects(t, map[string]string{"vs-reviews": vs}), MeshOptions{})
	first := mesh.Check(nil)
	checkFindings(t, first.Findings, []string{`warning VirtualService/shop/reviews spec.http[0].route[2].destination.host: "reviews.shop" is no Service's host unless a ServiceEntry declares it`})
	queries := first.Queries()
	wantQueries := []MeshQuery{{Kind: KindGateway, Namespace: "istio-system"}, {Kind: KindService, Namespace: "shop"}, {Kind: KindServiceEntry}, {Kind: KindDestinationRule}}
	sortQueries := func(qs []MeshQuery) {
		sort.Slice(qs, func(i, j int) bool { return qs[i].Kind+qs[i].Namespace < qs[j].Kind+qs[j].Namespace })
	}
	sortQueries(queries)
	sortQueries(wantQueries)
	if diff := cmp.Diff(wantQueries, queries); diff != "" {
		t.Errorf("queries (-want +got):\n%s", diff)
	}

	// The cluster holds Service details (and its DestinationRule with v1), no reviewz, no
	// shared-gateway and no ServiceEntry for reviews.shop.
	cluster := &ClusterObjects{
		Answered: queries,
		Names:    []object.ID{{Kind: KindService, Namespace: "shop", Name: "details"}, {Kind: KindGateway, Namespace: "istio-system", Name: "other"}},
		Objects: decode(t, `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: details, namespace: shop}
spec: {host: details, subsets: [{name: v1, labels: {version: v1}}]}`),
	}
	second := mesh.Check(cluster)
	checkFindings(t, second.Findings, []string{
		`error IST0101 VirtualService/shop/reviews spec.gateways[1]: Referenced gateway not found: "istio-system/shared-gateway"`,
		`error IST0101 VirtualService/shop/reviews spec.http[0].route[0].destination.host: Referenced host not found: "reviewz"`,
		`error IST0101 VirtualService/shop/reviews spec.http[0].route[2].destination.host: Referenced host not found: "reviews.shop" (Istio reads a host with a dot as fully qualified: for Service shop/reviews write reviews.shop.svc.cluster.local)`,
	})
	if len(second.Unknown) != 0 {
		t.Errorf("unknown after the cluster answered: %v", second.Unknown)
	}
}

func TestDestinationRuleSubsetsSelectWorkloads(t *testing.T) {
	tests := []struct {
		name    string
		changes map[string]string
		want    []string
	}{
		{"v4 selects nothing, no traffic", map[string]string{"dr-reviews": `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: v4, labels: {version: v4}}`},
			[]string{"warning DestinationRule/shop/reviews spec.subsets[2].labels: subset v4 selects no pods: no workload in namespace shop has pods labelled version=v4 and app=reviews (Service reviews's selector)"}},
		{"v2 removed from the render while it gets 10%", map[string]string{"workloads": deployment("reviews", "v1") + "---\n" + deployment("ratings", "v1")},
			[]string{
				"error DestinationRule/shop/reviews spec.subsets[1].labels: subset v2 selects no pods: no workload in namespace shop has pods labelled version=v2 and app=reviews (Service reviews's selector), and VirtualService reviews.shop (spec.http[0].route[1]) sends it traffic",
				"warning DestinationRule/shop/reviews spec.subsets[2].labels: subset v3 selects no pods",
			}},
		{"labels of another Service's pods", map[string]string{"dr-reviews": `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {app: ratings}}`},
			[]string{"error DestinationRule/shop/reviews spec.subsets[1].labels: subset v2 selects no pods: no workload in namespace shop has pods labelled app=ratings and app=reviews (Service reviews's selector), and VirtualService reviews.shop (spec.http[0].route[1]) sends it traffic, which would find no endpoint"}},
		{"mesh policy only: workloads elsewhere", map[string]string{"workloads": "", "cert": ""}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFindings(t, NewMesh(meshObjects(t, tt.changes), MeshOptions{}).Check(nil).Findings, tt.want)
		})
	}
}

func TestGateways(t *testing.T) {
	tests := []struct {
		name    string
		changes map[string]string
		want    []string
	}{
		{"two gateways claim one host on one port", map[string]string{"gateway-2": `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: shop-gateway, namespace: web}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [shop.example.com]
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [bookinfo.example.com, shop.example.com]
    tls: {mode: SIMPLE, credentialName: bookinfo-cert}`},
			[]string{
				"error IST0145 Gateway/shop/bookinfo-gateway spec.servers[0]: Conflict with gateways web/shop-gateway (workload selector istio=ingressgateway, port 443, hosts bookinfo.example.com).",
				"error IST0145 Gateway/web/shop-gateway spec.servers[1]: Conflict with gateways shop/bookinfo-gateway (workload selector istio=ingressgateway, port 443, hosts bookinfo.example.com,shop.example.com).",
			}},
		{"same host on other ports or other workloads", map[string]string{"gateway-2": `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: shop-gateway, namespace: web}
spec:
  selector: {istio: internal-gateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [bookinfo.example.com]
    tls: {mode: PASSTHROUGH}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: redirect, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [bookinfo.example.com]
    tls: {httpsRedirect: true}`}, nil},
		{"SIMPLE without a certificate", map[string]string{"gateway": `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bookinfo-gateway, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [bookinfo.example.com]
    tls: {mode: SIMPLE}`},
			[]string{"error IST0106 Gateway/shop/bookinfo-gateway spec.servers[0].tls: tls.mode SIMPLE needs a certificate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFindings(t, NewMesh(meshObjects(t, tt.changes), MeshOptions{}).Check(nil).Findings, tt.want)
		})
	}

	// The Secret in the Gateway's namespace, not the workload's: unknown until the cluster says
	// it has none in istio-ingress either.
	mesh := NewMesh(meshObjects(t, map[string]string{"cert": `apiVersion: v1
kind: Secret
metadata: {name: bookinfo-cert, namespace: shop}
type: kubernetes.io/tls`}), MeshOptions{})
	report := mesh.Check(nil)
	checkFindings(t, report.Findings, nil)
	if q := report.Queries(); len(q) != 1 || q[0] != (MeshQuery{Kind: KindSecret, Namespace: "istio-ingress"}) {
		t.Fatalf("queries %v, want the Secrets of istio-ingress", q)
	}
	checkFindings(t, mesh.Check(&ClusterObjects{Answered: report.Queries()}).Findings,
		[]string{`error IST0101 Gateway/shop/bookinfo-gateway spec.servers[0].tls.credentialName: Referenced credentialName not found: "bookinfo-cert" (no Secret bookinfo-cert in namespace istio-ingress, where the gateway's workload runs)`})

	// Without the gateway's workload in the render, the Secret may be in any namespace of the
	// cluster: one LIST by name settles it.
	mesh = NewMesh(meshObjects(t, map[string]string{"workloads": "", "cert": ""}), MeshOptions{})
	report = mesh.Check(nil)
	if q := report.Queries(); len(q) != 1 || q[0] != (MeshQuery{Kind: KindSecret, Name: "bookinfo-cert"}) {
		t.Fatalf("queries %v, want the Secret bookinfo-cert in any namespace", q)
	}
	checkFindings(t, mesh.Check(&ClusterObjects{Answered: report.Queries()}).Findings,
		[]string{`error IST0101 Gateway/shop/bookinfo-gateway spec.servers[0].tls.credentialName: Referenced credentialName not found: "bookinfo-cert" (no Secret bookinfo-cert in any namespace)`})
	checkFindings(t, mesh.Check(&ClusterObjects{Answered: report.Queries(), Names: []object.ID{{Kind: KindSecret, Namespace: "istio-system", Name: "bookinfo-cert"}}}).Findings, nil)
}

func TestMTLSConflict(t *testing.T) {
	disable := `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ratings, namespace: shop}
spec:
  host: ratings
  trafficPolicy:
    tls: {mode: DISABLE}
    portLevelSettings:
    - port: {number: 9080}
      tls: {}`
	tests := []struct {
		name    string
		changes map[string]string
		want    []string
	}{
		{"namespace STRICT vs DISABLE", map[string]string{"dr-ratings": disable}, []string{
			`error IST0113 DestinationRule/shop/ratings spec.trafficPolicy.portLevelSettings[0].tls.mode: A DestinationRule and Policy are in conflict with regards to mTLS for host ratings.shop.svc.cluster.local. The DestinationRule "ratings.shop" specifies that mTLS must be false but the Policy object "PeerAuthentication default.shop" specifies STRICT`,
			`error IST0113 DestinationRule/shop/ratings spec.trafficPolicy.tls.mode: A DestinationRule and Policy`,
		}},
		{"ratings' own PeerAuthentication is PERMISSIVE", map[string]string{"dr-ratings": disable, "peer-ratings": `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ratings, namespace: shop}
spec:
  selector: {matchLabels: {app: ratings}}
  mtls: {mode: PERMISSIVE}`}, nil},
		{"mesh-wide STRICT only", map[string]string{"dr-ratings": strings.Replace(disable, "\n    portLevelSettings:\n    - port: {number: 9080}\n      tls: {}", "", 1), "peer": `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}`}, []string{
			`warning IST0113 DestinationRule/shop/ratings spec.trafficPolicy.tls.mode: A DestinationRule and Policy are in conflict with regards to mTLS for host ratings.shop.svc.cluster.local. The DestinationRule "ratings.shop" specifies that mTLS must be false but the Policy object "PeerAuthentication default.istio-system" specifies STRICT: its workloads refuse these requests (unless a PeerAuthentication of namespace shop outside this render relaxes it).`,
		}},
		{"PERMISSIVE namespace", map[string]string{"dr-ratings": disable, "peer": `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec: {mtls: {mode: PERMISSIVE}}`}, nil},
		{"DISABLE towards an external host", map[string]string{"dr-ratings": `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: legacy, namespace: shop}
spec:
  host: legacy.example.com
  trafficPolicy: {tls: {mode: DISABLE}}`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFindings(t, NewMesh(meshObjects(t, tt.changes), MeshOptions{}).Check(nil).Findings, tt.want)
		})
	}
}

func TestAuthorizationPolicies(t *testing.T) {
	tests := []struct {
		name, policy string
		want         []string
	}{
		{"allow nothing", `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-nothing, namespace: shop}
spec: {}`, []string{"warning AuthorizationPolicy/shop/allow-nothing spec.rules: ALLOW with no rules denies every request to every workload in namespace shop"}},
		{"deny with no rules denies nothing: not flagged", `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-nothing, namespace: shop}
spec: {action: DENY}`, nil},
		{"malformed principals and namespaces", `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ratings, namespace: shop}
spec:
  selector: {matchLabels: {app: ratings}}
  rules:
  - from:
    - source:
        principals: ["spiffe://cluster.local/ns/shop/sa/reviews", "cluster.local/ns/shop/*/reviews", "reviews", "cluster.local/ns/Shop/sa/reviews", "cluster.local/ns/shop/sa/reviews", "*/ns/shop/sa/reviews", ""]
        notNamespaces: ["cluster.local/ns/shop", "Shop", "prod-*", "*"]
    when:
    - key: source.namespace
      values: [shop_2]`, []string{
			`error AuthorizationPolicy/shop/ratings spec.rules[0].from[0].source.notNamespaces[0]: "cluster.local/ns/shop" never matches: it is not a namespace`,
			`error AuthorizationPolicy/shop/ratings spec.rules[0].from[0].source.notNamespaces[1]: "Shop" never matches: namespace names hold only a-z, 0-9 and -`,
			`error AuthorizationPolicy/shop/ratings spec.rules[0].from[0].source.principals[0]: "spiffe://cluster.local/ns/shop/sa/reviews" never matches: Istio compares principals without the spiffe:// prefix (write cluster.local/ns/shop/sa/reviews)`,
			`error AuthorizationPolicy/shop/ratings spec.rules[0].from[0].source.principals[1]: "cluster.local/ns/shop/*/reviews" never matches: Istio reads * only alone`,
			`error AuthorizationPolicy/shop/ratings spec.rules[0].from[0].source.principals[3]: "cluster.local/ns/Shop/sa/reviews" never matches: no namespace can be called "Shop"`,
			`error IST0106 AuthorizationPolicy/shop/ratings spec.rules[0].from[0].source.principals[6]: empty value not allowed`,
			`error AuthorizationPolicy/shop/ratings spec.rules[0].when[0].values[0]: "shop_2" never matches`,
			`warning AuthorizationPolicy/shop/ratings spec.rules[0].from[0].source.principals[2]: "reviews" is not of the form TRUST-DOMAIN/ns/NAMESPACE/sa/SERVICE-ACCOUNT`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFindings(t, NewMesh(meshObjects(t, map[string]string{"authz": tt.policy}), MeshOptions{}).Check(nil).Findings, tt.want)
		})
	}
}

func TestMeshObjectsWithoutNamespace(t *testing.T) {
	// Objects without a namespace are in the App's namespace: short hosts resolve there.
	objs := decode(t, `apiVersion: v1
kind: Service
metadata: {name: reviews}
spec: {selector: {app: reviews}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews.shop.svc.cluster.local}
    - destination: {host: reviews}`)
	checkFindings(t, NewMesh(objs, MeshOptions{DefaultNamespace: "shop"}).Check(nil).Findings,
		[]string{"error IST0106 VirtualService/shop/reviews spec.http[0].route: total destination weight = 0"})
}

func TestUnreadableSpecIsAWarning(t *testing.T) {
	objs := decode(t, `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: reviews
  futureField: {x: 1}`)
	checkFindings(t, NewMesh(objs, MeshOptions{}).Check(nil).Findings,
		[]string{"warning VirtualService/shop/reviews spec: not checked by the mesh guardrails: the spec does not read as an Istio VirtualService"})
}

func TestFindingFormat(t *testing.T) {
	f := MeshFinding{Severity: SeverityError, Code: CodeReferencedResourceNotFound, Object: object.ID{Group: "networking.istio.io", Kind: "VirtualService", Namespace: "shop", Name: "reviews"},
		Field: "spec.http[0].route[0].destination.host", Message: `Referenced host not found: "reviewz"`}
	want := `Error [IST0101] (VirtualService reviews.shop) base/istio/vs.yaml: spec.http[0].route[0].destination.host: Referenced host not found: "reviewz"`
	if got := f.Format("base/istio/vs.yaml"); got != want {
		t.Errorf("Format =\n%s\nwant\n%s", got, want)
	}
	if CodeName(f.Code) != "ReferencedResourceNotFound" {
		t.Errorf("CodeName(%s) = %q", f.Code, CodeName(f.Code))
	}
}
