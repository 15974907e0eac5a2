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

	"github.com/flotilla-dev/flotilla/internal/object"
)

// HealthStatus is how an object is doing.
type HealthStatus string

// Health statuses.
const (
	HealthHealthy     HealthStatus = "Healthy"
	HealthProgressing HealthStatus = "Progressing"
	// Degraded means it failed and will not recover by waiting (e.g. ProgressDeadlineExceeded).
	HealthDegraded HealthStatus = "Degraded"
	HealthMissing  HealthStatus = "Missing"
)

// ObjectHealth is one object's health with the reason when it is not healthy.
type ObjectHealth struct {
	ID     object.ID    `json:"id"`
	Status HealthStatus `json:"status"`
	Reason string       `json:"reason,omitempty"`
}

// Evaluate judges a live object's health from its kind's rules: workload rollouts
// (observedGeneration, updated and available replicas, ProgressDeadlineExceeded), Job completion,
// CRD established, Namespace active, PVC bound, Istio status conditions, a generic Ready
// condition; any other object is healthy once it exists.
func Evaluate(obj *unstructured.Unstructured) ObjectHealth {
	h := ObjectHealth{ID: object.IDOf(obj), Status: HealthHealthy}
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
			h.Status, h.Reason = HealthProgressing, "not established yet"
		}
	case gk == schema.GroupKind{Kind: "Namespace"}:
		if phase, _, _ := unstructured.NestedString(obj.Object, "status", "phase"); phase != "" && phase != "Active" {
			h.Status, h.Reason = HealthProgressing, "namespace is "+phase
		}
	case gk == schema.GroupKind{Kind: "PersistentVolumeClaim"}:
		if phase, _, _ := unstructured.NestedString(obj.Object, "status", "phase"); phase != "Bound" {
			h.Status, h.Reason = HealthProgressing, "claim is "+orUnknown(phase)
		}
	case strings.HasSuffix(gk.Group, "istio.io"):
		h.Status, h.Reason = istioHealth(obj)
	default:
		if status, reason, message := conditionStatus(obj, "Ready"); status == "False" || status == "Unknown" {
			h.Status, h.Reason = HealthProgressing, joinReason(reason, message)
		}
	}
	return h
}

func deploymentHealth(obj *unstructured.Unstructured) (HealthStatus, string) {
	if status, reason, message := conditionStatus(obj, "Progressing"); status == "False" && reason == "ProgressDeadlineExceeded" {
		return HealthDegraded, joinReason(reason, message)
	}
	if s, reason := generationObserved(obj); s != HealthHealthy {
		return s, reason
	}
	want := replicas(obj)
	updated, _, _ := nestedInt(obj, "status", "updatedReplicas")
	total, _, _ := nestedInt(obj, "status", "replicas")
	available, _, _ := nestedInt(obj, "status", "availableReplicas")
	switch {
	case updated < want:
		return HealthProgressing, fmt.Sprintf("%d of %d replicas updated", updated, want)
	case total > updated:
		return HealthProgressing, fmt.Sprintf("%d old replicas pending termination", total-updated)
	case available < updated:
		return HealthProgressing, fmt.Sprintf("%d of %d updated replicas available", available, updated)
	}
	return HealthHealthy, ""
}

func statefulSetHealth(obj *unstructured.Unstructured) (HealthStatus, string) {
	if s, reason := generationObserved(obj); s != HealthHealthy {
		return s, reason
	}
	want := replicas(obj)
	ready, _, _ := nestedInt(obj, "status", "readyReplicas")
	updated, _, _ := nestedInt(obj, "status", "updatedReplicas")
	current, _, _ := unstructured.NestedString(obj.Object, "status", "currentRevision")
	update, _, _ := unstructured.NestedString(obj.Object, "status", "updateRevision")
	switch {
	case ready < want:
		return HealthProgressing, fmt.Sprintf("%d of %d replicas ready", ready, want)
	case update != "" && current != update && updated < want:
		return HealthProgressing, fmt.Sprintf("%d of %d replicas updated", updated, want)
	}
	return HealthHealthy, ""
}

func daemonSetHealth(obj *unstructured.Unstructured) (HealthStatus, string) {
	if s, reason := generationObserved(obj); s != HealthHealthy {
		return s, reason
	}
	desired, _, _ := nestedInt(obj, "status", "desiredNumberScheduled")
	updated, _, _ := nestedInt(obj, "status", "updatedNumberScheduled")
	available, _, _ := nestedInt(obj, "status", "numberAvailable")
	switch {
	case updated < desired:
		return HealthProgressing, fmt.Sprintf("%d of %d pods updated", updated, desired)
	case available < desired:
		return HealthProgressing, fmt.Sprintf("%d of %d pods available", available, desired)
	}
	return HealthHealthy, ""
}

func jobHealth(obj *unstructured.Unstructured) (HealthStatus, string) {
	if status, reason, message := conditionStatus(obj, "Failed"); status == "True" {
		return HealthDegraded, joinReason(reason, message)
	}
	if conditionTrue(obj, "Complete") {
		return HealthHealthy, ""
	}
	return HealthProgressing, "job has not completed"
}

// istioHealth reads Istio's status conditions when its control plane writes them; without a
// control plane (or with status writing off) an Istio resource is healthy once accepted.
func istioHealth(obj *unstructured.Unstructured) (HealthStatus, string) {
	for _, condition := range []string{"Ready", "Reconciled", "Accepted"} {
		if status, reason, message := conditionStatus(obj, condition); status == "False" {
			return HealthDegraded, joinReason(condition+" "+reason, message)
		}
	}
	messages, _, _ := unstructured.NestedSlice(obj.Object, "status", "validationMessages")
	for _, m := range messages {
		msg, _ := m.(map[string]any)
		if level, _ := msg["level"].(string); level == "ERROR" {
			return HealthDegraded, fmt.Sprint("validation: ", msg["description"])
		}
	}
	return HealthHealthy, ""
}

// nestedInt reads a number at a path whether it decoded as int64 (API responses) or float64
// (generic JSON or YAML).
func nestedInt(obj *unstructured.Unstructured, fields ...string) (int64, bool, error) {
	v, found, err := unstructured.NestedFieldNoCopy(obj.Object, fields...)
	if !found || err != nil {
		return 0, found, err
	}
	switch n := v.(type) {
	case int64:
		return n, true, nil
	case float64:
		return int64(n), true, nil
	case int:
		return int64(n), true, nil
	}
	return 0, false, fmt.Errorf("%v is not a number", v)
}

func generationObserved(obj *unstructured.Unstructured) (HealthStatus, string) {
	observed, found, _ := nestedInt(obj, "status", "observedGeneration")
	if !found || observed < obj.GetGeneration() {
		return HealthProgressing, "the controller has not seen the latest spec yet"
	}
	return HealthHealthy, ""
}

func replicas(obj *unstructured.Unstructured) int64 {
	n, found, _ := nestedInt(obj, "spec", "replicas")
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

// Health reads the objects from the cluster, with one LIST per resource and namespace, and
// evaluates each.
func (m *Manager) Health(ctx context.Context, ids []object.ID, versions map[object.ID]string) ([]ObjectHealth, error) {
	keys := map[object.ID]resourceKey{}
	live := map[resourceKey]map[string]*unstructured.Unstructured{}
	for _, id := range ids {
		mapping, err := m.target.mapping(schema.GroupVersionKind{Group: id.Group, Version: versions[id], Kind: id.Kind})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		key := resourceKey{mapping.Resource, id.Namespace}
		keys[id] = key
		if _, listed := live[key]; listed {
			continue
		}
		list, err := m.target.resource(mapping, id.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("list %s: %w", mapping.Resource.Resource, err)
		}
		byName := map[string]*unstructured.Unstructured{}
		if list != nil {
			for i := range list.Items {
				byName[list.Items[i].GetName()] = &list.Items[i]
			}
		}
		live[key] = byName
	}
	out := make([]ObjectHealth, 0, len(ids))
	for _, id := range ids {
		obj, found := live[keys[id]][id.Name]
		if !found {
			out = append(out, ObjectHealth{ID: id, Status: HealthMissing, Reason: "not found in the cluster"})
			continue
		}
		out = append(out, Evaluate(obj))
	}
	return out, nil
}

// WaitOptions tune WaitHealthy.
type WaitOptions struct {
	// Timeout bounds the wait.
	Timeout time.Duration
	// Interval is the time between two evaluations.
	Interval time.Duration
	// ReportEvery is how often Report is told the latest evaluation while the wait goes on.
	ReportEvery time.Duration
	// Report, when set, is told the latest evaluation every ReportEvery.
	Report func([]ObjectHealth)
}

// DefaultWaitOptions wait up to 5 minutes, evaluate every half second and report every 5
// seconds.
func DefaultWaitOptions() WaitOptions {
	return WaitOptions{Timeout: 5 * time.Minute, Interval: 500 * time.Millisecond, ReportEvery: 5 * time.Second}
}

// WaitHealthy polls Health until every object is healthy, one is Degraded, ctx ends or the
// timeout passes, and returns the last evaluation. Only Healthy objects count as done.
func (m *Manager) WaitHealthy(ctx context.Context, ids []object.ID, versions map[object.ID]string, opts WaitOptions) ([]ObjectHealth, error) {
	defaults := DefaultWaitOptions()
	if opts.Timeout <= 0 {
		opts.Timeout = defaults.Timeout
	}
	if opts.Interval <= 0 {
		opts.Interval = defaults.Interval
	}
	if opts.ReportEvery <= 0 {
		opts.ReportEvery = defaults.ReportEvery
	}
	deadline := time.Now().Add(opts.Timeout)
	nextReport := time.Now().Add(opts.ReportEvery)
	for {
		health, err := m.Health(ctx, ids, versions)
		if err != nil {
			return nil, err
		}
		done := true
		for _, h := range health {
			if h.Status == HealthDegraded {
				return health, nil
			}
			if h.Status != HealthHealthy {
				done = false
			}
		}
		if done || time.Now().After(deadline) {
			return health, nil
		}
		if opts.Report != nil && time.Now().After(nextReport) {
			opts.Report(health)
			nextReport = time.Now().Add(opts.ReportEvery)
		}
		select {
		case <-ctx.Done():
			return health, ctx.Err()
		case <-time.After(opts.Interval):
		}
	}
}
