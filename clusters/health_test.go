package clusters

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name   string
		object string
		want   HealthStatus
		reason string
	}{
		{"deployment rolled out", `apiVersion: apps/v1
kind: Deployment
metadata: {name: d, generation: 2}
spec: {replicas: 2}
status:
  observedGeneration: 2
  replicas: 2
  updatedReplicas: 2
  readyReplicas: 2
  availableReplicas: 2
  conditions: [{type: Available, status: "True"}, {type: Progressing, status: "True", reason: NewReplicaSetAvailable}]`, HealthHealthy, ""},
		{"deployment not observed yet", `apiVersion: apps/v1
kind: Deployment
metadata: {name: d, generation: 3}
spec: {replicas: 2}
status: {observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2}`, HealthProgressing, "generation is 3, but latest observed generation is 2"},
		{"deployment rolling", `apiVersion: apps/v1
kind: Deployment
metadata: {name: d, generation: 2}
spec: {replicas: 3}
status: {observedGeneration: 2, replicas: 4, updatedReplicas: 3, readyReplicas: 4, availableReplicas: 3}`, HealthProgressing, "Pending termination: 1"},
		{"deployment waiting for availability", `apiVersion: apps/v1
kind: Deployment
metadata: {name: d, generation: 1}
spec: {replicas: 2}
status: {observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 1}`, HealthProgressing, "Available: 1/2"},
		{"deployment past its deadline", `apiVersion: apps/v1
kind: Deployment
metadata: {name: d, generation: 1}
spec: {replicas: 1}
status:
  observedGeneration: 1
  conditions: [{type: Progressing, status: "False", reason: ProgressDeadlineExceeded, message: "ReplicaSet d-1 has timed out progressing."}]`, HealthDegraded, "ProgressDeadlineExceeded: ReplicaSet d-1 has timed out progressing."},
		{"deployment past its deadline, newer spec not seen yet", `apiVersion: apps/v1
kind: Deployment
metadata: {name: d, generation: 2}
spec: {replicas: 1}
status:
  observedGeneration: 1
  conditions: [{type: Progressing, status: "False", reason: ProgressDeadlineExceeded, message: "ReplicaSet d-1 has timed out progressing."}]`, HealthProgressing, "Deployment generation is 2, but latest observed generation is 1"},
		{"statefulset ready", `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s, generation: 1}
spec: {replicas: 2}
status: {observedGeneration: 1, replicas: 2, readyReplicas: 2, currentReplicas: 2, updatedReplicas: 2, currentRevision: a, updateRevision: a}`, HealthHealthy, ""},
		{"statefulset updating", `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s, generation: 2}
spec: {replicas: 2}
status: {observedGeneration: 2, replicas: 2, readyReplicas: 2, currentReplicas: 1, updatedReplicas: 1, currentRevision: a, updateRevision: b}`, HealthProgressing, "current: 1/2"},
		{"daemonset not everywhere", `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ds, generation: 1}
status: {observedGeneration: 1, desiredNumberScheduled: 3, currentNumberScheduled: 3, updatedNumberScheduled: 3, numberReady: 3, numberAvailable: 2}`, HealthProgressing, "Available: 2/3"},
		{"job complete", `apiVersion: batch/v1
kind: Job
metadata: {name: j}
status: {conditions: [{type: Complete, status: "True"}]}`, HealthHealthy, ""},
		{"job failed", `apiVersion: batch/v1
kind: Job
metadata: {name: j}
status: {conditions: [{type: Failed, status: "True", reason: BackoffLimitExceeded}]}`, HealthDegraded, "BackoffLimitExceeded"},
		{"crd not established", `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: x.example.com}`, HealthProgressing, "Install in progress"},
		{"pvc pending", `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: p}
status: {phase: Pending}`, HealthProgressing, "PVC is not Bound"},
		{"namespace terminating", `apiVersion: v1
kind: Namespace
metadata: {name: n}
status: {phase: Terminating}`, HealthProgressing, "namespace is Terminating"},
		{"istio resource without status", `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: v}
spec: {hosts: [v]}`, HealthHealthy, ""},
		{"istio resource not on every proxy yet", `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: v, generation: 2}
status: {conditions: [{type: Reconciled, status: "False", message: "1/2 proxies up to date.", observedGeneration: "2"}]}`, HealthProgressing, "Reconciled: 1/2 proxies up to date."},
		{"istio resource on every proxy", `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: d, generation: 2}
status: {observedGeneration: 2, conditions: [{type: Reconciled, status: "True", message: "2/2 proxies up to date."}]}`, HealthHealthy, ""},
		{"istio status about an older generation", `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: v, generation: 3}
status: {conditions: [{type: Reconciled, status: "True", observedGeneration: 2}]}`, HealthProgressing, "Istio has not reported on generation 3 yet (its status is about generation 2)"},
		{"istio analysis error", `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: v, generation: 1}
status:
  validationMessages:
  - {level: WARNING, type: {code: IST0132, name: VirtualServiceHostNotFoundInGateway}}
  - {level: ERROR, type: {code: IST0101, name: ReferencedResourceNotFound}, documentationUrl: "https://istio.io/v1.31/docs/reference/config/analysis/ist0101/"}`, HealthDegraded, "Istio analysis: IST0101 ReferencedResourceNotFound (https://istio.io/v1.31/docs/reference/config/analysis/ist0101/)"},
		{"istio analysis warning only", `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: v, generation: 1}
status: {validationMessages: [{level: WARNING, type: {code: IST0132, name: VirtualServiceHostNotFoundInGateway}}]}`, HealthHealthy, ""},
		{"authorization policy refused by ztunnel", `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: a, generation: 1}
status: {conditions: [{type: ZtunnelAccepted, status: "False", reason: UnsupportedValue, message: "ztunnel does not support HTTP attributes", observedGeneration: "1"}]}`, HealthDegraded, "ZtunnelAccepted UnsupportedValue: ztunnel does not support HTTP attributes"},
		{"generic Ready false", `apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
status: {conditions: [{type: Ready, status: "False", reason: Waiting}]}`, HealthProgressing, "Waiting"},
		{"configmap", `apiVersion: v1
kind: ConfigMap
metadata: {name: c}`, HealthHealthy, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := yaml.YAMLToJSON([]byte(tt.object))
			if err != nil {
				t.Fatal(err)
			}
			obj := &unstructured.Unstructured{}
			if err := obj.UnmarshalJSON(b); err != nil { // as objects come from the API: int64 numbers
				t.Fatal(err)
			}
			got := Evaluate(obj)
			if got.Status != tt.want || !strings.Contains(got.Reason, tt.reason) || (tt.reason == "" && got.Reason != "") {
				t.Errorf("Evaluate = %s %q, want %s %q", got.Status, got.Reason, tt.want, tt.reason)
			}
		})
	}
}
