package tree

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// deploymentsYAML is realistic Kubernetes YAML of at least size bytes: Deployments with labels,
// containers, environment, probes, resources, a block scalar, comments and quoted strings.
func deploymentsYAML(size int) []byte {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, `---
# Deployment %[1]d of the shop.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: service-%[1]d
  namespace: shop
  labels:
    app.kubernetes.io/name: service-%[1]d
    app.kubernetes.io/part-of: shop
  annotations:
    description: "Serves part %[1]d of the shop: orders, carts & payments"
spec:
  replicas: 3
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app.kubernetes.io/name: service-%[1]d
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 25%%, maxUnavailable: 0}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: service-%[1]d
    spec:
      serviceAccountName: service-%[1]d
      securityContext:
        runAsNonRoot: true
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: app
          image: registry.example.com/shop/service-%[1]d:v1.%[1]d.0
          args: ["--port=8080", "--log-level=info"]
          ports:
            - name: http
              containerPort: 8080
              protocol: TCP
          env:
            - name: DATABASE_URL
              valueFrom:
                secretKeyRef: {name: db, key: url}
            - name: FEATURES
              value: 'cart,checkout'
            - name: CONFIG
              value: |
                listen: :8080
                upstreams:
                  - http://orders:8080
                  - http://payments:8080
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits:
              memory: 256Mi
          readinessProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: 10
          livenessProbe:
            httpGet: {path: /livez, port: http}
            failureThreshold: 3 # restarts after 30s
`, i)
	}
	return []byte(b.String())
}

// BenchmarkScanShape measures scanShape on realistic files (MB/s) and on pathological ones, both
// refused under a render's limits (the time to refuse, with no MB/s: it reads only a little of
// the file) and scanned to the end without limits.
func BenchmarkScanShape(b *testing.B) {
	limits := ShapeLimits{MaxDepth: 200, MaxNodes: 1_000_000, MaxObjects: 10_000}
	type benchCase struct {
		name   string
		data   []byte
		limits ShapeLimits
	}
	cases := []benchCase{{"deployments-1MiB", deploymentsYAML(1 << 20), limits}}
	for _, crd := range []struct{ name, module, path string }{
		{"crd-yaml", "sigs.k8s.io/structured-merge-diff/v6", "internal/testdata/prometheus-crd.yaml"},
		{"crd-json", "k8s.io/kube-openapi", "pkg/schemaconv/testdata/crds/openapiv3/dlp_v1beta1_dlpdeidentifytemplate.json"},
	} {
		if dir := shapeModuleDir(b, crd.module); dir != "" {
			if data, err := os.ReadFile(filepath.Join(dir, crd.path)); err == nil {
				cases = append(cases, benchCase{crd.name, data, limits})
			}
		}
	}
	cases = append(cases,
		benchCase{"refused/flow-500x9990-deep", deepFlow(500, 9990), limits},
		benchCase{"refused/block-500x9990-deep", deepBlock(500, 9990), limits},
		benchCase{"refused/indented-5000-deep", deepIndented(5000), limits},
		benchCase{"refused/list-100000-items", hugeList(100_000), limits},
		benchCase{"refused/flow-16MiB", flatFlow(16 << 20), limits},
		benchCase{"unlimited/flow-500x9990-deep", deepFlow(500, 9990), ShapeLimits{}},
		benchCase{"unlimited/block-500x9990-deep", deepBlock(500, 9990), ShapeLimits{}},
		benchCase{"unlimited/list-100000-items", hugeList(100_000), ShapeLimits{}},
		benchCase{"unlimited/flow-16MiB", flatFlow(16 << 20), ShapeLimits{}},
	)
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if !strings.HasPrefix(c.name, "refused/") {
				b.SetBytes(int64(len(c.data)))
			}
			b.ReportAllocs()
			for b.Loop() {
				_, _ = scanShape("bench.yaml", c.data, c.limits)
			}
		})
	}
}
