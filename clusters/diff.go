package clusters

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/flotilla-dev/flotilla/sources/render"
)

// ObjectDiff is how one object in the cluster differs from Git.
type ObjectDiff struct {
	ID render.ObjectID `json:"id"`
	// Action is what a sync would do: created, configured or pruned.
	Action Action `json:"action"`
	// Diff is a unified diff of the object's YAML, live (-) to desired (+), with server-filled
	// fields removed and Secret values masked.
	Diff string `json:"diff"`
	// Note says what a sync would run into, e.g. a conflict with another field manager.
	Note string `json:"note,omitempty"`
}

// Diff compares objs with the cluster: each existing object is applied as a server-side dry
// run and the result compared with the live object, so defaults and server-filled fields never
// show as differences. With prune, inventory objects that left Git are listed as pruned. Objects
// without differences are left out. Secret values are replaced by tokens that differ when the
// values differ, and mean nothing outside this diff.
func (m *Manager) Diff(ctx context.Context, objs []*unstructured.Unstructured, inv *Inventory, prune bool) ([]ObjectDiff, error) {
	mask := newSecretMask()
	var diffs []ObjectDiff
	desired := map[render.ObjectID]bool{}
	for _, obj := range objs {
		d, err := m.prepare(obj)
		if err != nil {
			return diffs, &ApplyError{Cluster: m.target.Name, ID: render.IDOf(obj), Err: err}
		}
		desired[d.id] = true
		client := m.target.resource(d.mapping, d.obj.GetNamespace())
		live, err := client.Get(ctx, d.obj.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			diffs = append(diffs, ObjectDiff{ID: d.id, Action: Created, Diff: unified(d.id, "", mask.yaml(normalize(d.obj)))})
			continue
		}
		if err != nil {
			return diffs, &ApplyError{Cluster: m.target.Name, ID: d.id, Err: err}
		}
		dryRun := metav1.ApplyOptions{FieldManager: FieldManager, DryRun: []string{metav1.DryRunAll}}
		note := ""
		dry, err := client.Apply(ctx, d.obj.GetName(), d.obj, dryRun)
		if apierrors.IsConflict(err) {
			// Someone else changed fields Flotilla set: show what Git says anyway.
			note = describeApplyError(err).Error()
			dryRun.Force = true
			dry, err = client.Apply(ctx, d.obj.GetName(), d.obj, dryRun)
		}
		if err != nil {
			return diffs, &ApplyError{Cluster: m.target.Name, ID: d.id, Err: describeApplyError(err)}
		}
		before, after := mask.yaml(normalize(live)), mask.yaml(normalize(dry))
		if before != after {
			diffs = append(diffs, ObjectDiff{ID: d.id, Action: Configured, Diff: unified(d.id, before, after), Note: note})
		}
	}
	if !prune {
		return diffs, nil
	}
	for _, e := range inv.Entries {
		if desired[e.ObjectID] {
			continue
		}
		mapping, err := m.target.mapping(e.GroupVersionKind())
		if err != nil {
			continue
		}
		live, err := m.target.resource(mapping, e.Namespace).Get(ctx, e.Name, metav1.GetOptions{})
		if err != nil || live.GetLabels()[LabelApp] != m.app || live.GetAnnotations()[AnnotationPrune] == "disabled" {
			continue
		}
		diffs = append(diffs, ObjectDiff{ID: e.ObjectID, Action: Pruned, Diff: unified(e.ObjectID, mask.yaml(normalize(live)), "")})
	}
	return diffs, nil
}

// normalize drops what the server fills in and Git never says: status, managedFields,
// resourceVersion, generation, uid, timestamps; and Flotilla's desired-hash annotation, which
// changes exactly when something Git says changes.
func normalize(obj *unstructured.Unstructured) *unstructured.Unstructured {
	out := obj.DeepCopy()
	delete(out.Object, "status")
	for _, field := range []string{"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink"} {
		unstructured.RemoveNestedField(out.Object, "metadata", field)
	}
	unstructured.RemoveNestedField(out.Object, "metadata", "annotations", AnnotationDesiredHash)
	if len(out.GetAnnotations()) == 0 {
		unstructured.RemoveNestedField(out.Object, "metadata", "annotations")
	}
	return out
}

// secretMask replaces Secret values with HMAC tokens under a key made for one diff: equal values
// get equal tokens, so a changed value shows as changed, and nothing about the value can be
// learned from the token.
type secretMask struct{ key []byte }

// lastApplied is kubectl's annotation that repeats a client-side applied object, values and all.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

func newSecretMask() *secretMask {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return &secretMask{key: key}
}

func (s *secretMask) yaml(obj *unstructured.Unstructured) string {
	if render.IsSecret(obj) {
		obj = obj.DeepCopy()
		for _, field := range []string{"data", "stringData"} {
			values, found, _ := unstructured.NestedMap(obj.Object, field)
			if !found {
				continue
			}
			for k, v := range values {
				mac := hmac.New(sha256.New, s.key)
				fmt.Fprint(mac, v)
				values[k] = render.Redacted + " " + hex.EncodeToString(mac.Sum(nil))[:8]
			}
			_ = unstructured.SetNestedMap(obj.Object, values, field)
		}
		if annotations := obj.GetAnnotations(); annotations[lastApplied] != "" {
			annotations[lastApplied] = render.Redacted
			obj.SetAnnotations(annotations)
		}
	}
	b, err := yaml.Marshal(obj.Object)
	if err != nil {
		return fmt.Sprintf("# cannot show: %v\n", err)
	}
	return string(b)
}

func unified(id render.ObjectID, before, after string) string {
	lines := func(s string) []string {
		if s == "" {
			return nil
		}
		return difflib.SplitLines(s)
	}
	text, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: lines(before), B: lines(after),
		FromFile: "live/" + id.String(), ToFile: "git/" + id.String(), Context: 3,
	})
	return strings.TrimRight(text, "\n") + "\n"
}
