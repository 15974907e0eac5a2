package policies

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// meshOfSize is a render of n Services across 10 namespaces, each with two Deployments and, of
// Istio kinds, a VirtualService splitting its traffic, a DestinationRule with two subsets, an
// AuthorizationPolicy, a Gateway with a TLS server and a ServiceEntry: 5n mesh objects.
func meshOfSize(n int) string {
	var b strings.Builder
	for i := range n {
		ns := fmt.Sprintf("team-%d", i%10)
		r := strings.NewReplacer("{name}", fmt.Sprintf("svc-%d", i), "{ns}", ns, "{i}", fmt.Sprint(i))
		b.WriteString(r.Replace(`apiVersion: v1
kind: Service
metadata: {name: {name}, namespace: {ns}}
spec: {selector: {app: {name}}, ports: [{name: http, port: 8080}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: {name}-v1, namespace: {ns}}
spec: {template: {metadata: {labels: {app: {name}, version: v1}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: {name}-v2, namespace: {ns}}
spec: {template: {metadata: {labels: {app: {name}, version: v2}}}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: {name}, namespace: {ns}}
spec:
  hosts: [{name}]
  http:
  - match: [{headers: {x-canary: {exact: "1"}}}]
    route: [{destination: {host: {name}, subset: v2}}]
  - route:
    - {destination: {host: {name}, subset: v1}, weight: 90}
    - {destination: {host: {name}.{ns}.svc.cluster.local, subset: v2}, weight: 10}
    mirror: {host: api-{i}.example.com}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: {name}, namespace: {ns}}
spec:
  host: {name}
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: {name}, namespace: {ns}}
spec:
  selector: {matchLabels: {app: {name}}}
  rules: [{from: [{source: {principals: [cluster.local/ns/{ns}/sa/frontend], namespaces: [{ns}]}}]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: {name}, namespace: {ns}}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [{name}.example.com]
    tls: {mode: SIMPLE, credentialName: {name}-cert}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api-{i}, namespace: {ns}}
spec: {hosts: [api-{i}.example.com], ports: [{number: 443, name: tls, protocol: TLS}], resolution: D{ns}}
---
`))
	}
	return b.String()
}

func TestMeshOfSizePasses(t *testing.T) {
	report := NewMesh(decode(t, meshOfSize(20)), MeshOptions{}).Check(nil)
	checkFindings(t, report.Findings, nil)
	for _, q := range report.Queries() {
		if q.Kind != KindSecret {
			t.Errorf("query %v, want only the certificates' Secrets (in any namespace: no gateway workload in the render)", q)
		}
	}
}

// BenchmarkMeshChecks indexes and checks a render holding 1,000 mesh objects (and 600
// Services and Deployments), from the objects as the renderer hands them over.
func BenchmarkMeshChecks(b *testing.B) {
	objs := decode(b, meshOfSize(200))
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		report := NewMesh(objs, MeshOptions{}).Check(nil)
		if len(report.Findings) != 0 {
			b.Fatal(report.Findings)
		}
	}
	// The CPU time the process spent (GC included) tells the cost on a machine busy with other
	// work, where ns/op also counts the waits for a core.
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
