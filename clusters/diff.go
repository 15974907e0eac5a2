package clusters

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
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
	// Action is what a sync would do: created, configured, pruned, skipped (left in the
	// cluster as it leaves the inventory; Note says why), or failed (Note says why).
	Action Action `json:"action"`
	// Diff is a unified diff of the object's YAML, live (-) to desired (+), with server-filled
	// fields removed and Secret values masked.
	Diff string `json:"diff"`
	// Note says what a sync would run into or do beyond the diff: fields it takes back from
	// another manager, a list it writes whole, why it fails.
	Note string `json:"note,omitempty"`
	// Blocked says that a sync with the same options would fail on this object (Note says why):
	// a conflict without ForceConflicts, or an object Flotilla may not take over. The Diff is
	// what it would change once allowed.
	Blocked bool `json:"blocked,omitempty"`
}

// DiffOptions say what the sync that a diff previews would do. The zero value, which
// DefaultDiffOptions returns, previews a sync that neither prunes, adopts nor forces.
type DiffOptions struct {
	// Prune lists the inventory's objects that left Git as pruned (or skipped).
	Prune bool
	// Adopt: the sync would take over existing objects that Flotilla did not create.
	Adopt bool
	// ForceConflicts: the sync would take back fields that another manager changed (see
	// ApplyOptions.ForceConflicts).
	ForceConflicts bool
	// Schemas are the cluster's, to preview list heals with (loaded when needed if nil).
	Schemas *Schemas
	// Ignore are fields the sync leaves to other managers.
	Ignore Ignore
}

// DefaultDiffOptions previews a sync that neither prunes, adopts nor forces.
func DefaultDiffOptions() DiffOptions { return DiffOptions{} }

// Diff compares objs with the cluster: each object that a sync would write is applied as a
// server-side dry run and the result compared with the live object, so defaults and
// server-filled fields never show as differences. An object that does not exist yet is
// dry-run too, so that what the API server refuses fails here as in the sync, except in a
// Namespace the same render brings (nothing can be dry-run there before it exists). An object unchanged on both sides since
// Flotilla's last apply (the test Apply makes: desired hash and owned-field fingerprint) has
// no difference and costs no request beyond one metadata LIST per kind and namespace. An
// object the sync would fail on is listed as failed, or Blocked (a conflict without
// ForceConflicts, an object it may not take over), with the reason in its Note. With
// opts.Prune, and only when no object would fail (a sync prunes only after every apply
// succeeded), inventory objects that left Git are listed as the sync's prune would treat them.
// Objects without differences are left out; the others come in apply order. Secret values are
// replaced by tokens that differ when the values differ, and mean nothing outside this diff.
// Objects are compared m.Concurrency at a time. The error is the cluster's (a LIST that
// failed), not an object's.
func (m *Manager) Diff(ctx context.Context, objs []*unstructured.Unstructured, inv *Inventory, opts DiffOptions) ([]ObjectDiff, error) {
	mask := newSecretMask()
	found := make([]*ObjectDiff, len(objs))
	desired := make([]*desiredObject, len(objs))
	newKinds := render.CRDKinds(objs)
	for i, obj := range objs {
		d, err := m.prepare(obj)
		clusterScoped, newKind := newKinds[obj.GroupVersionKind().GroupKind()]
		switch {
		case err != nil && newKind:
			// Of a kind that a CRD of this render brings: nothing of it exists yet.
			found[i] = m.newKindObject(obj, !clusterScoped, mask)
		case err != nil:
			found[i] = failedDiff(object.IDOf(obj), obj, err)
		default:
			desired[i] = d
		}
	}
	live, err := m.listLive(ctx, desired, nil, nil)
	if err != nil {
		return nil, err
	}
	recorded := inv.byID()
	brought := newNamespaces(desired, live)
	forEach(len(desired), m.Concurrency, func(i int) {
		d := desired[i]
		if d == nil {
			return
		}
		entry, inInventory := recorded[d.id]
		switch {
		case inInventory && unchangedSinceApply(d, live[d.id], entry):
		case live[d.id] == nil && brought[d.obj.GetNamespace()]:
			// In a Namespace this render brings: the API server cannot dry-run it yet.
			found[i] = createdDiff(d, mask)
		default:
			found[i] = m.diffOne(ctx, d, mask, live[d.id] != nil, inInventory, opts)
		}
	})
	diffs := compact(found)
	if !opts.Prune || slices.ContainsFunc(diffs, func(d ObjectDiff) bool { return d.Action == ActionFailed || d.Blocked }) {
		return diffs, nil
	}
	return append(diffs, m.diffPrune(ctx, inv, desired, mask)...), nil
}

// diffPrune previews the prune: the inventory's objects that left Git, as pruneOne treats them.
func (m *Manager) diffPrune(ctx context.Context, inv *Inventory, desired []*desiredObject, mask *secretMask) []ObjectDiff {
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
		decision, err := m.decidePrune(ctx, e)
		d := &ObjectDiff{ID: e.ID, Action: decision.action, Note: decision.reason}
		switch {
		case err != nil:
			d.Note = err.Error()
		case decision.action == ActionPruned && decision.live == nil: // already gone
			d = nil
		case decision.action == ActionPruned:
			d.Diff = unified(e.ID, mask.yaml(normalize(decision.live)), "")
		case decision.keep:
			d.Diff = unified(e.ID, mask.yaml(normalize(decision.live)), mask.yaml(normalize(released(decision.live))))
		}
		pruned[i] = d
	})
	return compact(pruned)
}

// newNamespaces are the names of the Namespaces among desired that a sync creates: they do
// not exist yet, or are terminating (the sync waits for them to go and creates them again).
func newNamespaces(desired []*desiredObject, live map[object.ID]*metav1.PartialObjectMetadata) map[string]bool {
	names := map[string]bool{}
	for _, d := range desired {
		if d == nil || d.id.Group != "" || d.id.Kind != "Namespace" {
			continue
		}
		if ns := live[d.id]; ns == nil || ns.DeletionTimestamp != nil {
			names[d.id.Name] = true
		}
	}
	return names
}

// createdDiff is the diff of an object a sync would create: Git's object, whole.
func createdDiff(d *desiredObject, mask *secretMask) *ObjectDiff {
	return &ObjectDiff{ID: d.id, Action: ActionCreated, Diff: unified(d.id, "", mask.yaml(normalize(d.obj)))}
}

// diffCreated is the diff of an object that does not exist yet: its creation is dry-run, so
// that what the API server refuses and the schema check cannot see (a value outside a field's
// allowed ones, a missing namespace, an admission webhook's verdict) fails here as in the sync.
func (m *Manager) diffCreated(ctx context.Context, d *desiredObject, mask *secretMask) *ObjectDiff {
	client := m.target.resource(d.mapping, d.obj.GetNamespace())
	opts := metav1.ApplyOptions{FieldManager: FieldManager, DryRun: []string{metav1.DryRunAll}}
	if _, err := client.Apply(ctx, d.obj.GetName(), d.obj, opts); err != nil {
		return failedDiff(d.id, d.obj, err)
	}
	return createdDiff(d, mask)
}

// failedDiff is an object a sync would fail on, with the error (without Secret values).
func failedDiff(id object.ID, obj *unstructured.Unstructured, err error) *ObjectDiff {
	return &ObjectDiff{ID: id, Action: ActionFailed, Note: secretSafe(obj, err).Error()}
}

// newKindObject is the diff of an object whose kind the cluster does not serve yet: created, in
// the namespace it will have (namespaced says the kind's scope, from its CRD).
func (m *Manager) newKindObject(obj *unstructured.Unstructured, namespaced bool, mask *secretMask) *ObjectDiff {
	if namespace := m.namespaceIn(obj, namespaced); namespace != obj.GetNamespace() {
		obj = obj.DeepCopy()
		obj.SetNamespace(namespace)
	}
	id := object.IDOf(obj)
	labelled, _, err := owned(obj, m.app)
	if err != nil {
		return failedDiff(id, obj, err)
	}
	return &ObjectDiff{ID: id, Action: ActionCreated, Diff: unified(id, "", mask.yaml(normalize(labelled))), Note: "its kind comes with a CRD of this render"}
}

// diffOne compares one desired object with its live version as a sync would apply it; nil
// means no difference.
func (m *Manager) diffOne(ctx context.Context, d *desiredObject, mask *secretMask, exists, inInventory bool, opts DiffOptions) *ObjectDiff {
	client := m.target.resource(d.mapping, d.obj.GetNamespace())
	var live *unstructured.Unstructured
	if exists {
		var err error
		live, err = client.Get(ctx, d.obj.GetName(), metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return failedDiff(d.id, d.obj, err)
		}
	}
	if live == nil {
		return m.diffCreated(ctx, d, mask)
	}
	adopting, ownerErr := m.checkOwner(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Labels: live.GetLabels()}}, inInventory, opts.Adopt)
	dry, note, blocked, err := m.dryRunApply(ctx, d, live, adopting, opts)
	if err != nil {
		return failedDiff(d.id, d.obj, err)
	}
	if ownerErr != nil {
		note, blocked = ownerErr.Error(), true
	}
	before, after := mask.yaml(normalize(live)), mask.yaml(normalize(dry))
	// A sync writes when the object or the fields Flotilla owns in it change (it stops owning
	// fields it leaves to others, say); the diff shows the object's change.
	if before == after && !blocked && ownedFields(dry) == ownedFields(live) {
		return nil
	}
	return &ObjectDiff{ID: d.id, Action: ActionConfigured, Diff: unified(d.id, before, after), Note: secretSafe(d.obj, errors.New(note)).Error(), Blocked: blocked}
}

// dryRunApply is what the object would become with the apply a sync makes (Apply's applyOne):
// a server-side dry run, forced when a conflict with a manager the App does not ignore arises
// (with a note naming who loses which field, blocked unless force or adopting), or, where
// someone changed the key of an entry in a list Git sets, a dry run of the list heal. The error is the API server's refusal of Git's object.
func (m *Manager) dryRunApply(ctx context.Context, d *desiredObject, live *unstructured.Unstructured, adopting bool, opts DiffOptions) (dry *unstructured.Unstructured, note string, blocked bool, err error) {
	force, schemas := opts.ForceConflicts || adopting, opts.Schemas
	client := m.target.resource(d.mapping, d.obj.GetNamespace())
	// Conflicts are always taken back here, to show what Git says; a sync without force
	// would fail on them (blocked).
	dry, d, left, taken, err := applyResolvingConflicts(d, opts.Ignore, adopting, true,
		func(d *desiredObject, force bool) (*unstructured.Unstructured, error) {
			return client.Apply(ctx, d.obj.GetName(), d.obj, metav1.ApplyOptions{FieldManager: FieldManager, DryRun: []string{metav1.DryRunAll}, Force: force})
		})
	var notes []string
	if len(left) > 0 {
		notes = append(notes, leftTo(left))
	}
	if blocked = len(taken) > 0 && !force; blocked {
		notes = append(notes, conflictNote(taken))
	} else if len(taken) > 0 {
		took := tookBack
		if adopting {
			took = tookOver
		}
		notes = append(notes, took(taken))
	}
	note = strings.Join(notes, "; ")
	if !apierrors.IsInvalid(err) {
		return dry, note, blocked, err
	}
	heal, healErr := m.planHeal(ctx, d, live, schemas)
	if healErr != nil || heal == nil {
		return nil, "", false, err
	}
	if dry, err = m.dryRunHeal(ctx, d, heal); err != nil {
		return nil, "", false, err
	}
	if !force {
		return dry, heal.describe() + "; " + healAdvice, true, nil
	}
	return dry, strings.Join(append(notes, heal.describe()), "; "), blocked, nil
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
