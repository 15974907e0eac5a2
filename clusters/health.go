package clusters

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/flotilla-dev/flotilla/sources/render"
)

// HealthStatus is how an object is doing.
type HealthStatus string

// Health statuses.
const (
	Healthy     HealthStatus = "Healthy"
	Progressing HealthStatus = "Progressing"
	// Degraded means it failed and will not recover by waiting (e.g. ProgressDeadlineExceeded).
	Degraded HealthStatus = "Degraded"
	Missing  HealthStatus = "Missing"
)

// ObjectHealth is one object's health with the reason when it is not healthy.
type ObjectHealth struct {
	ID     render.ObjectID `json:"id"`
	Status HealthStatus    `json:"status"`
	Reason string          `json:"reason,omitempty"`
}

// Evaluate judges a live object's health from its kind's rules: workload rollouts
// (observedGeneration, updated and available replicas, ProgressDeadlineExceeded), Job completion,
// CRD established, Namespace active, PVC bound, Istio status conditions, a generic Ready
// condition; any other object is healthy once it exists.
func Evaluate(obj *unstructured.Unstructured) ObjectHealth {
	h := ObjectHealth{ID: render.IDOf(obj), Status: Healthy}
	gk := obj.GroupVersionKind().GroupKind()
	switch {
	case gk == schema.GroupKind{Group: "apps", Kind: "Deployment"}:
		h.Status, h.Reason = deploymentHealth(obj)
	case gk == schema.GroupKind{Group: "apps", Kind: "StatefulSet"}:
		h.Status, h.Reason = statefulSetHealth(obj)
	case gk == schema.GroupKind{Group: "apps", Kind: "DaemonSet"}:
		h.Status, h.Reason = daemonSetHealth(obj)
	case gk == schema.GroupKind{Group: "batch", Kind: "Job"}:
		h.Status, h.Reason = jobHealth(obj)
	case gk == schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}:
		if !conditionTrue(obj, "Established") {
			h.Status, h.Reason = Progressing, "not established yet"
		}
	case gk == schema.GroupKind{Kind: "Namespace"}:
		if phase, _, _ := unstructured.NestedString(obj.Object, "status", "phase"); phase != "" && phase != "Active" {
			h.Status, h.Reason = Progressing, "namespace is "+phase
		}
	case gk == schema.GroupKind{Kind: "PersistentVolumeClaim"}:
		if phase, _, _ := unstructured.NestedString(obj.Object, "status", "phase"); phase != "Bound" {
			h.Status, h.Reason = Progressing, "claim is "+orUnknown(phase)
		}
	case strings.HasSuffix(gk.Group, "istio.io"):
		h.Status, h.Reason = istioHealth(obj)
	default:
		if status, reason, message := conditionStatus(obj, "Ready"); status == "False" || status == "Unknown" {
			h.Status, h.Reason = Progressing, joinReason(reason, message)
		}
	}
	return h
}

func deploymentHealth(obj *unstructured.Unstructured) (HealthStatus, string) {
	if status, reason, message := conditionStatus(obj, "Progressing"); status == "False" && reason == "ProgressDeadlineExceeded" {
		return Degraded, joinReason(reason, message)
	}
	if s, reason := generationObserved(obj); s != Healthy {
		return s, reason
	}
	want := replicas(obj)
	updated, _, _ := unstructured.NestedInt64(obj.Object, "status", "updatedReplicas")
	total, _, _ := unstructured.NestedInt64(obj.Object, "status", "replicas")
	available, _, _ := unstructured.NestedInt64(obj.Object, "status", "availableReplicas")
	switch {
	case updated < want:
		return Progressing, fmt.Sprintf("%d of %d replicas updated", updated, want)
	case total > updated:
		return Progressing, fmt.Sprintf("%d old replicas pending termination", total-updated)
	case available < updated:
		return Progressing, fmt.Sprintf("%d of %d updated replicas available", available, updated)
	}
	return Healthy, ""
}

func statefulSetHealth(obj *unstructured.Unstructured) (HealthStatus, string) {
	if s, reason := generationObserved(obj); s != Healthy {
		return s, reason
	}
	want := replicas(obj)
	ready, _, _ := unstructured.NestedInt64(obj.Object, "status", "readyReplicas")
	updated, _, _ := unstructured.NestedInt64(obj.Object, "status", "updatedReplicas")
	current, _, _ := unstructured.NestedString(obj.Object, "status", "currentRevision")
	update, _, _ := unstructured.NestedString(obj.Object, "status", "updateRevision")
	switch {
	case ready < want:
		return Progressing, fmt.Sprintf("%d of %d replicas ready", ready, want)
	case update != "" && current != update && updated < want:
		return Progressing, fmt.Sprintf("%d of %d replicas updated", updated, want)
	}
	return Healthy, ""
}

func daemonSetHealth(obj *unstructured.Unstructured) (HealthStatus, string) {
	if s, reason := generationObserved(obj); s != Healthy {
		return s, reason
	}
	desired, _, _ := unstructured.NestedInt64(obj.Object, "status", "desiredNumberScheduled")
	updated, _, _ := unstructured.NestedInt64(obj.Object, "status", "updatedNumberScheduled")
	available, _, _ := unstructured.NestedInt64(obj.Object, "status", "numberAvailable")
	switch {
	case updated < desired:
		return Progressing, fmt.Sprintf("%d of %d pods updated", updated, desired)
	case available < desired:
		return Progressing, fmt.Sprintf("%d of %d pods available", available, desired)
	}
	return Healthy, ""
}

func jobHealth(obj *unstructured.Unstructured) (HealthStatus, string) {
	if status, reason, message := conditionStatus(obj, "Failed"); status == "True" {
		return Degraded, joinReason(reason, message)
	}
	if conditionTrue(obj, "Complete") {
		return Healthy, ""
	}
	return Progressing, "job has not completed"
}

// istioHealth reads Istio's status conditions when its control plane writes them; without a
// control plane (or with status writing off) an Istio resource is healthy once accepted.
func istioHealth(obj *unstructured.Unstructured) (HealthStatus, string) {
	for _, condition := range []string{"Ready", "Reconciled", "Accepted"} {
		if status, reason, message := conditionStatus(obj, condition); status == "False" {
			return Degraded, joinReason(condition+" "+reason, message)
		}
	}
	messages, _, _ := unstructured.NestedSlice(obj.Object, "status", "validationMessages")
	for _, m := range messages {
		msg, _ := m.(map[string]any)
		if level, _ := msg["level"].(string); level == "ERROR" {
			return Degraded, fmt.Sprint("validation: ", msg["description"])
		}
	}
	return Healthy, ""
}

func generationObserved(obj *unstructured.Unstructured) (HealthStatus, string) {
	observed, found, _ := unstructured.NestedInt64(obj.Object, "status", "observedGeneration")
	if !found || observed < obj.GetGeneration() {
		return Progressing, "the controller has not seen the latest spec yet"
	}
	return Healthy, ""
}

func replicas(obj *unstructured.Unstructured) int64 {
	n, found, _ := unstructured.NestedInt64(obj.Object, "spec", "replicas")
	if !found {
		return 1
	}
	return n
}

func joinReason(reason, message string) string {
	switch {
	case reason == "":
		return message
	case message == "":
		return reason
	}
	return reason + ": " + message
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// Health reads the objects from the cluster and evaluates each.
func (m *Manager) Health(ctx context.Context, ids []render.ObjectID, versions map[render.ObjectID]string) ([]ObjectHealth, error) {
	out := make([]ObjectHealth, 0, len(ids))
	for _, id := range ids {
		gvk := schema.GroupVersionKind{Group: id.Group, Version: versions[id], Kind: id.Kind}
		mapping, err := m.target.mapping(gvk)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", m.target.Name, id, err)
		}
		obj, err := m.target.resource(mapping, id.Namespace).Get(ctx, id.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			out = append(out, ObjectHealth{ID: id, Status: Missing, Reason: "not found in the cluster"})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", m.target.Name, id, err)
		}
		out = append(out, Evaluate(obj))
	}
	return out, nil
}

// WaitHealthy polls Health until every object is healthy, one is Degraded, ctx ends or timeout
// passes, and returns the last evaluation. Only Healthy objects count as done.
func (m *Manager) WaitHealthy(ctx context.Context, ids []render.ObjectID, versions map[render.ObjectID]string, timeout time.Duration) ([]ObjectHealth, error) {
	deadline := time.Now().Add(timeout)
	for {
		health, err := m.Health(ctx, ids, versions)
		if err != nil {
			return nil, err
		}
		done := true
		for _, h := range health {
			if h.Status == Degraded {
				return health, nil
			}
			if h.Status != Healthy {
				done = false
			}
		}
		if done || time.Now().After(deadline) {
			return health, nil
		}
		select {
		case <-ctx.Done():
			return health, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
