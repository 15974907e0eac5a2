package clusters

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/flotilla-dev/flotilla/internal/object"
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
	// AnnotationDesiredHash is the hash of the object as Git asked for it at its last apply
	// (labels included, this annotation excluded): a sync compares it with the new render to
	// tell, without a request, whether the desired object changed.
	AnnotationDesiredHash = "flotilla.dev/desired-hash"
)

// Action is what a sync did, or would do, to one object.
type Action string

// Actions.
const (
	ActionCreated    Action = "created"
	ActionConfigured Action = "configured"
	ActionUnchanged  Action = "unchanged"
	ActionPruned     Action = "pruned"
	ActionSkipped    Action = "skipped"
	ActionFailed     Action = "failed"
)

// Change is one object's part of a sync.
type Change struct {
	ID     object.ID `json:"id"`
	Action Action    `json:"action"`
	// Reason explains skipped, drifted and failed changes.
	Reason string `json:"reason,omitempty"`
	// Version and Fields are what the next inventory records of an object applied or found
	// unchanged: its API version and the fingerprint of the fields Flotilla owns in it.
	Version string `json:"-"`
	Fields  string `json:"-"`
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

// ApplyError is a failure to apply one object to one cluster. Its message names the object, not
// the cluster: every result that carries it is already labelled with its cluster.
type ApplyError struct {
	Cluster string
	ID      object.ID
	Err     error
}

func (e *ApplyError) Error() string { return fmt.Sprintf("%s: %v", e.ID, e.Err) }

// Unwrap returns the API error.
func (e *ApplyError) Unwrap() error { return e.Err }

// owned returns a copy of obj labelled as managed by Flotilla for app and annotated with its
// desired hash, and that hash.
func owned(obj *unstructured.Unstructured, app string) (*unstructured.Unstructured, string, error) {
	out := obj.DeepCopy()
	stringDataAsData(out)
	labels := out.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelManagedBy] = ManagedByValue
	labels[LabelApp] = app
	out.SetLabels(labels)
	annotations := out.GetAnnotations()
	delete(annotations, AnnotationDesiredHash) // Git does not get to choose it
	out.SetAnnotations(annotations)
	hash, err := objectHash(out)
	if err != nil {
		return nil, "", err
	}
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[AnnotationDesiredHash] = hash
	out.SetAnnotations(annotations)
	return out, hash, nil
}

// stringDataAsData moves a Secret's stringData into data, base64-encoded, as the API server
// would: it stores only data, so that a change someone else makes to a value moves a data field
// away from Flotilla (which the owned-field fingerprint notices) instead of leaving Flotilla's
// stringData field untouched. A value that is not a string stays for the API server to refuse.
func stringDataAsData(obj *unstructured.Unstructured) {
	if !object.IsSecret(obj) {
		return
	}
	stringData, _ := obj.Object["stringData"].(map[string]any)
	if len(stringData) == 0 {
		return
	}
	data, _ := obj.Object["data"].(map[string]any)
	if data == nil {
		data = map[string]any{}
	}
	for key, v := range stringData {
		if s, ok := v.(string); ok {
			data[key] = base64.StdEncoding.EncodeToString([]byte(s))
			delete(stringData, key)
		}
	}
	obj.Object["data"] = data
	if len(stringData) == 0 {
		delete(obj.Object, "stringData")
	}
}

// objectHash is a sha256 of an object's canonical JSON (128 bits of it, in hex): what was asked
// for, to notice when the desired object changes.
func objectHash(obj *unstructured.Unstructured) (string, error) {
	b, err := json.Marshal(obj.Object)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16]), nil
}

// ownedFields fingerprints the fields Flotilla's server-side apply owns in a live object: the
// API version and field set of its Apply entry in managedFields ("" when it has none). The
// API server takes a field away from every other manager as soon as anyone changes, adds or
// removes it, so the fingerprint differs from the one recorded at apply time whenever someone
// touched what Flotilla set, and stays the same when others change only their own fields or the
// status. It is a few hundred bytes of metadata that a metadata-only LIST returns.
func ownedFields(obj metav1.Object) string {
	h := sha256.New()
	found := false
	for _, e := range obj.GetManagedFields() {
		if e.Manager != FieldManager || e.Operation != metav1.ManagedFieldsOperationApply || e.Subresource != "" || e.FieldsV1 == nil {
			continue
		}
		found = true
		fmt.Fprintf(h, "%s\x00", e.APIVersion)
		h.Write(e.FieldsV1.GetRawBytes())
		h.Write([]byte{0})
	}
	if !found {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// secretSafe returns err, or, when obj is a Secret, an error that says the same without any of
// the Secret's values (an API server's validation message may quote them).
func secretSafe(obj *unstructured.Unstructured, err error) error {
	if err == nil || !object.IsSecret(obj) {
		return err
	}
	return &redactedError{msg: object.RedactSecretText(obj, err.Error()), err: err}
}

// redactedError is an error whose message had Secret values taken out; errors.As still finds
// the API error underneath.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
