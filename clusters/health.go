package clusters

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	kstatus "github.com/fluxcd/cli-utils/pkg/kstatus/status"

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

// Evaluate judges a live object's health with kstatus (github.com/fluxcd/cli-utils, what Flux
// and kpt compute health with) for every kind it has rules for: workload rollouts, Jobs, CRDs,
// PVCs, a generic Ready condition and the generic observedGeneration, Reconciling and Stalled
// conventions. Flotilla's own rules cover what kstatus does not: Istio resources (their status
// conditions and validation messages), a Namespace's phase, and the detail of a Deployment past
// its progress deadline or of a failed Job (the condition's reason and message, which kstatus
// leaves out).
func Evaluate(obj *unstructured.Unstructured) ObjectHealth {
	h := ObjectHealth{ID: object.IDOf(obj)}
	gk := obj.GroupVersionKind().GroupKind()
	switch {
	case strings.HasSuffix(gk.Group, "istio.io"):
		h.Status, h.Reason = istioHealth(obj)
		return h
	case gk == schema.GroupKind{Kind: "Namespace"}:
		if phase, _, _ := unstructured.NestedString(obj.Object, "status", "phase"); phase != "" && phase != "Active" {
			h.Status, h.Reason = HealthProgressing, "namespace is "+phase
			return h
		}
	case gk == schema.GroupKind{Group: "apps", Kind: "Deployment"}:
		// Only once the controller has seen this spec: right after an apply (a rollback of a
		// Deployment past its deadline, say) the condition is the old spec's.
		observed, _, _ := unstructured.NestedInt64(obj.Object, "status", "observedGeneration")
		if status, reason, message := conditionStatus(obj, "Progressing"); status == "False" && reason == "ProgressDeadlineExceeded" && observed >= obj.GetGeneration() {
			h.Status, h.Reason = HealthDegraded, joinReason(reason, message)
			return h
		}
	case gk == schema.GroupKind{Group: "batch", Kind: "Job"}:
		if status, reason, message := conditionStatus(obj, "Failed"); status == "True" {
			h.Status, h.Reason = HealthDegraded, joinReason(reason, message)
			return h
		}
	}
	h.Status, h.Reason = kstatusHealth(obj)
	return h
}

// kstatusHealth maps kstatus's verdict: Current is healthy, Failed degraded, NotFound missing,
// and anything else (InProgress, Terminating, Unknown) progressing, with kstatus's message.
func kstatusHealth(obj *unstructured.Unstructured) (HealthStatus, string) {
	res, err := kstatus.Compute(obj)
	if err != nil {
		return HealthProgressing, fmt.Sprintf("status not readable: %v", err)
	}
	switch res.Status {
	case kstatus.CurrentStatus:
		return HealthHealthy, ""
	case kstatus.FailedStatus:
		return HealthDegraded, res.Message
	case kstatus.NotFoundStatus:
		return HealthMissing, res.Message
	}
	if res.Message == "" { // a Ready condition with a reason but no message
		if _, reason, message := conditionStatus(obj, "Ready"); reason != "" || message != "" {
			return HealthProgressing, joinReason(reason, message)
		}
	}
	return HealthProgressing, res.Message
}

// istioHealth reads the status that Istio's control plane writes on its resources (istio.io/api
// meta/v1alpha1 IstioStatus), when it writes one:
//   - Reconciled (istiod's distribution tracking): False while not every proxy has the
//     configuration yet ("1/2 proxies up to date."): progressing, not failed;
//   - ZtunnelAccepted and WaypointAccepted (an AuthorizationPolicy in ambient mode),
//     istio.io/WaypointBound (a ServiceEntry), and Ready, Accepted, Programmed, ResolvedRefs:
//     False means the data plane refused the resource or could not attach it: degraded;
//   - validationMessages (istiod's analysis): a message of level ERROR is degraded, named by its
//     istioctl code ("IST0101 ReferencedResourceNotFound").
//
// Conditions about an older generation than the resource's own (their observedGeneration, or
// the status's) do not count; when only such conditions are there, Istio has not looked at this
// generation yet: progressing. A resource with no status is healthy once applied (no control
// plane, or status writing off: nothing more will be said about it).
func istioHealth(obj *unstructured.Unstructured) (HealthStatus, string) {
	generation := obj.GetGeneration()
	statusGeneration := intOrString(obj.Object, "status", "observedGeneration")
	stale := func(observed int64) bool {
		if observed == 0 {
			observed = statusGeneration
		}
		return observed > 0 && generation > 0 && observed < generation
	}
	conditions, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	var progressing []string
	current, old := 0, int64(0)
	for _, c := range conditions {
		cond, _ := c.(map[string]any)
		if observed := intOrString(cond, "observedGeneration"); stale(observed) {
			old = max(old, observed, statusGeneration)
			continue
		}
		current++
		kind, _ := cond["type"].(string)
		status, _ := cond["status"].(string)
		reason, _ := cond["reason"].(string)
		message, _ := cond["message"].(string)
		if status != "False" {
			continue
		}
		switch kind {
		case "Reconciled":
			progressing = append(progressing, joinReason(strings.TrimSpace(kind+" "+reason), message))
		case "ZtunnelAccepted", "WaypointAccepted", "istio.io/WaypointBound", "Ready", "Accepted", "Programmed", "ResolvedRefs":
			return HealthDegraded, joinReason(strings.TrimSpace(kind+" "+reason), message)
		}
	}
	if !stale(0) {
		messages, _, _ := unstructured.NestedSlice(obj.Object, "status", "validationMessages")
		for _, m := range messages {
			msg, _ := m.(map[string]any)
			if level := fmt.Sprint(msg["level"]); level == "ERROR" || level == "3" {
				return HealthDegraded, "Istio analysis: " + validationMessage(msg)
			}
		}
	}
	switch {
	case len(progressing) > 0:
		return HealthProgressing, strings.Join(progressing, "; ")
	case current == 0 && old > 0:
		return HealthProgressing, fmt.Sprintf("Istio has not reported on generation %d yet (its status is about generation %d)", generation, old)
	}
	return HealthHealthy, ""
}

// validationMessage is an Istio analysis message as istioctl names it: "IST0101
// ReferencedResourceNotFound (https://istio.io/…)".
func validationMessage(msg map[string]any) string {
	t, _ := msg["type"].(map[string]any)
	code, _ := t["code"].(string)
	name, _ := t["name"].(string)
	text := strings.TrimSpace(code + " " + name)
	if url, _ := msg["documentationUrl"].(string); url != "" {
		text += " (" + url + ")"
	}
	if text == "" {
		return "a message of level ERROR"
	}
	return text
}

// intOrString reads an int-or-string field (Istio's observedGeneration), 0 if absent or not a
// number.
func intOrString(obj map[string]any, fields ...string) int64 {
	v, found, err := unstructured.NestedFieldNoCopy(obj, fields...)
	if !found || err != nil {
		return 0
	}
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	case string:
		i, _ := strconv.ParseInt(n, 10, 64)
		return i
	}
	return 0
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
