package clusters

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/flotilla-dev/flotilla/sources/render"
)

// FieldManager is the server-side apply field manager of every Flotilla write.
const FieldManager = "flotilla"

// Labels and annotations Flotilla puts on what it manages.
const (
	// LabelManagedBy marks every object Flotilla applies.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is LabelManagedBy's value.
	ManagedByValue = "flotilla"
	// LabelApp names the App that owns an object.
	LabelApp = "flotilla.dev/app"
	// AnnotationPrune set to "disabled" keeps an object when it leaves Git.
	AnnotationPrune = "flotilla.dev/prune"
)

// Action is what a sync did, or would do, to one object.
type Action string

// Actions.
const (
	Created    Action = "created"
	Configured Action = "configured"
	Unchanged  Action = "unchanged"
	Pruned     Action = "pruned"
	Skipped    Action = "skipped"
	Drifted    Action = "drifted"
	Failed     Action = "failed"
)

// Change is one object's part of a sync.
type Change struct {
	ID     render.ObjectID `json:"id"`
	Action Action          `json:"action"`
	// Reason explains skipped, drifted and failed changes.
	Reason string `json:"reason,omitempty"`
}

// ChangeSet is every change of one sync, in apply order.
type ChangeSet []Change

// Count returns how many changes have the action.
func (cs ChangeSet) Count(a Action) int {
	n := 0
	for _, c := range cs {
		if c.Action == a {
			n++
		}
	}
	return n
}

// ApplyError is a failure to apply one object to one cluster.
type ApplyError struct {
	Cluster string
	ID      render.ObjectID
	Err     error
}

func (e *ApplyError) Error() string { return fmt.Sprintf("%s: %s: %v", e.Cluster, e.ID, e.Err) }

// Unwrap returns the API error.
func (e *ApplyError) Unwrap() error { return e.Err }

// owned returns a copy of obj labelled as managed by Flotilla for app.
func owned(obj *unstructured.Unstructured, app string) *unstructured.Unstructured {
	out := obj.DeepCopy()
	labels := out.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelManagedBy] = ManagedByValue
	labels[LabelApp] = app
	out.SetLabels(labels)
	return out
}

// objectHash is the sha256 of an object's canonical JSON: what was asked for, to notice when the
// desired object changes.
func objectHash(obj *unstructured.Unstructured) (string, error) {
	b, err := json.Marshal(obj.Object)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
