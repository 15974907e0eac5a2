package clusters

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/sources/render"
)

// ObjectDiff is how one object in the cluster differs from Git.
type ObjectDiff struct {
	ID object.ID `json:"id"`
	// Action is what a sync would do: created, configured or pruned.
	Action Action `json:"action"`
	// Diff is a unified diff of the object's YAML, live (-) to desired (+), with server-filled
	// fields removed and Secret values masked.
	Diff string `json:"diff"`
	// Note says what a sync would run into, e.g. a conflict with another field manager.
	Note string `json:"note,omitempty"`
	// Blocked says that a sync with the same options would fail on this object (Note says why):
	// a conflict without ForceConflicts, or an object Flotilla may not take over.
	Blocked bool `json:"blocked,omitempty"`
}

// DiffOptions say what the sync that a diff previews would do. The zero value, which
// DefaultDiffOptions returns, previews a sync that neither prunes, adopts nor forces.
type DiffOptions struct {
	// Prune lists the inventory's objects that left Git as pruned.
	Prune bool
	// Adopt: the sync would take over existing objects that Flotilla did not create.
	Adopt bool
	// ForceConflicts: the sync would take over fields that another manager owns.
	ForceConflicts bool
}

// DefaultDiffOptions previews a sync that neither prunes, adopts nor forces.
func DefaultDiffOptions() DiffOptions { return DiffOptions{} }

// Diff compares objs with the cluster: each object that a sync would write is applied as a
// server-side dry run and the result compared with the live object, so defaults and
// server-filled fields never show as differences. An object unchanged on both sides since
// Flotilla's last apply (the test Apply makes: desired hash and owned-field fingerprint) has
// no difference and costs no request beyond one metadata LIST per kind and namespace. With
// opts.Prune, inventory objects that left Git are listed as pruned. An object that the sync
// would fail on (a conflict, an object it may not take over) is listed Blocked, with the
// reason in its Note, even without a difference. Objects without differences
// are left out; the others come in apply order. Secret values are replaced by tokens that
// differ when the values differ, and mean nothing outside this diff. Objects are compared
// m.Concurrency at a time; the error joins every object's.
func (m *Manager) Diff(ctx context.Context, objs []*unstructured.Unstructured, inv *Inventory, opts DiffOptions) ([]ObjectDiff, error) {
	mask := newSecretMask()
	found := make([]*ObjectDiff, len(objs))
	errs := make([]error, len(objs))
	desired := make([]*desiredObject, len(objs))
	newKinds := render.CRDKinds(objs)
	for i, obj := range objs {
		d, err := m.prepare(obj)
		clusterScoped, newKind := newKinds[obj.GroupVersionKind().GroupKind()]
		switch {
		case err != nil && newKind:
			// Of a kind that a CRD of this render brings: nothing of it exists yet.
			found[i], errs[i] = m.newKindObject(obj, !clusterScoped, mask)
		case err != nil:
			errs[i] = &ApplyError{Cluster: m.target.Name, ID: object.IDOf(obj), Err: err}
		default:
			desired[i] = d
		}
	}
	live, err := m.listLive(ctx, desired, nil, nil)
	if err != nil {
		return nil, err
	}
	recorded := inv.byID()
	forEach(len(desired), m.Concurrency, func(i int) {
		d := desired[i]
		if d == nil {
			return
		}
		entry, inInventory := recorded[d.id]
		if inInventory && unchangedSinceApply(d, live[d.id], entry) {
			return
		}
		adopting, ownerErr := m.checkOwner(live[d.id], inInventory, opts.Adopt)
		var err error
		if found[i], err = m.diffOne(ctx, d, mask, opts.ForceConflicts || adopting); err != nil {
			errs[i] = &ApplyError{Cluster: m.target.Name, ID: d.id, Err: secretSafe(d.obj, err)}
		}
		if ownerErr != nil && err == nil {
			if found[i] == nil {
				found[i] = &ObjectDiff{ID: d.id, Action: ActionConfigured}
			}
			found[i].Note, found[i].Blocked = ownerErr.Error(), true
		}
	})
	if err := errors.Join(errs...); err != nil || !opts.Prune {
		return compact(found), err
	}
	isDesired := make(map[object.ID]bool, len(desired))
	for _, d := range desired {
		if d != nil {
			isDesired[d.id] = true
		}
	}
	stale := inv.Stale(isDesired)
	pruned := make([]*ObjectDiff, len(stale))
	forEach(len(stale), m.Concurrency, func(i int) {
		e := stale[i]
		mapping, err := m.target.mapping(e.GroupVersionKind())
		if err != nil {
			return
		}
		live, err := m.target.resource(mapping, e.Namespace).Get(ctx, e.Name, metav1.GetOptions{})
		if err != nil || live.GetLabels()[LabelApp] != m.app || live.GetAnnotations()[AnnotationPrune] == "disabled" {
			return
		}
		pruned[i] = &ObjectDiff{ID: e.ID, Action: ActionPruned, Diff: unified(e.ID, mask.yaml(normalize(live)), "")}
	})
	return append(compact(found), compact(pruned)...), nil
}

// newKindObject is the diff of an object whose kind the cluster does not serve yet: created, in
// the namespace it will have (namespaced says the kind's scope, from its CRD).
func (m *Manager) newKindObject(obj *unstructured.Unstructured, namespaced bool, mask *secretMask) (*ObjectDiff, error) {
	if namespace := namespaceIn(obj, namespaced); namespace != obj.GetNamespace() {
		obj = obj.DeepCopy()
		obj.SetNamespace(namespace)
	}
	id := object.IDOf(obj)
	labelled, _, err := owned(obj, m.app)
	if err != nil {
		return nil, &ApplyError{Cluster: m.target.Name, ID: id, Err: err}
	}
	return &ObjectDiff{ID: id, Action: ActionCreated, Diff: unified(id, "", mask.yaml(normalize(labelled))), Note: "its kind comes with a CRD of this render"}, nil
}

// diffOne compares one desired object with its live version; nil means no difference.
func (m *Manager) diffOne(ctx context.Context, d *desiredObject, mask *secretMask, force bool) (*ObjectDiff, error) {
	client := m.target.resource(d.mapping, d.obj.GetNamespace())
	live, err := client.Get(ctx, d.obj.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return &ObjectDiff{ID: d.id, Action: ActionCreated, Diff: unified(d.id, "", mask.yaml(normalize(d.obj)))}, nil
	}
	if err != nil {
		return nil, err
	}
	dryRun := metav1.ApplyOptions{FieldManager: FieldManager, DryRun: []string{metav1.DryRunAll}, Force: force}
	conflict := ""
	dry, err := client.Apply(ctx, d.obj.GetName(), d.obj, dryRun)
	if apierrors.IsConflict(err) {
		// Someone else changed fields Flotilla set: show what Git says anyway.
		conflict = secretSafe(d.obj, describeApplyError(err)).Error()
		dryRun.Force = true
		dry, err = client.Apply(ctx, d.obj.GetName(), d.obj, dryRun)
	}
	if err != nil {
		return nil, describeApplyError(err)
	}
	before, after := mask.yaml(normalize(live)), mask.yaml(normalize(dry))
	if before == after && conflict == "" {
		return nil, nil
	}
	return &ObjectDiff{ID: d.id, Action: ActionConfigured, Diff: unified(d.id, before, after), Note: conflict, Blocked: conflict != ""}, nil
}

// compact drops the nils.
func compact(diffs []*ObjectDiff) []ObjectDiff {
	var out []ObjectDiff
	for _, d := range diffs {
		if d != nil {
			out = append(out, *d)
		}
	}
	return out
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

func newSecretMask() *secretMask {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return &secretMask{key: key}
}

func (s *secretMask) yaml(obj *unstructured.Unstructured) string {
	obj = object.ReplaceSecretValues(obj, func(v any) string {
		mac := hmac.New(sha256.New, s.key)
		fmt.Fprint(mac, v)
		return object.Redacted + " " + hex.EncodeToString(mac.Sum(nil))[:8]
	})
	b, err := yaml.Marshal(obj.Object)
	if err != nil {
		return fmt.Sprintf("# cannot show: %v\n", err)
	}
	return string(b)
}

func unified(id object.ID, before, after string) string {
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
