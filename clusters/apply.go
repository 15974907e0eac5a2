package clusters

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/flotilla-dev/flotilla/internal/object"
)

// Manager syncs one App's objects to one cluster. Each verb has its own file (apply, prune,
// diff, health, live), with an options struct and its Default…() where it has options.
type Manager struct {
	target *Target
	app    string
	// Concurrency bounds the requests each verb has in flight to the cluster at once.
	Concurrency int
	// Namespace is where the App's namespaced objects that name none go ("": "default").
	Namespace string
}

// DefaultConcurrency is a Manager's Concurrency unless changed: measured on three local API
// servers sharing two cores, 16 applies in flight per cluster cost the servers less CPU per
// object than 8 (their writes to etcd and watch events batch better).
const DefaultConcurrency = 16

// NewManager returns the Manager of app on t.
func NewManager(t *Target, app string) *Manager {
	return &Manager{target: t, app: app, Concurrency: DefaultConcurrency}
}

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// ForceConflicts takes back fields that another field manager changed (Git wins: the
	// App's drift.mode is enforce, or the pass says so), and writes Git's whole list where
	// someone changed the key of an entry (see listHeal). Each change says which manager lost
	// which field.
	ForceConflicts bool
	// Adopt takes over objects that exist but were not created by Flotilla.
	Adopt bool
	// EstablishTimeout bounds the wait for applied CRDs to be served, and for a terminating
	// Namespace to be gone.
	EstablishTimeout time.Duration
	// Schemas are the cluster's, to heal lists with (loaded when needed if nil).
	Schemas *Schemas
	// Ignore are fields left to other managers: never taken back, no longer sent.
	Ignore Ignore
	// Live is what Prefetch listed, to be used instead of listing again where it suffices.
	Live *LiveObjects
	// Progress, when set, is told about waits a user should know of (a Namespace that is
	// still terminating).
	Progress func(format string, args ...any)
	// BeforeWrite, when set, is told how many objects Apply is about to write, before the
	// first write; an error stops Apply with nothing written (the ledger records a change
	// before it is made).
	BeforeWrite func(toWrite int) error
}

// DefaultApplyOptions: no forcing, no adoption, 1 minute for CRDs to be served.
func DefaultApplyOptions() ApplyOptions {
	return ApplyOptions{EstablishTimeout: time.Minute}
}

// desiredObject is an object to apply, with what Apply learns about it.
type desiredObject struct {
	id      object.ID
	obj     *unstructured.Unstructured
	hash    string
	mapping *meta.RESTMapping
}

// Apply makes the cluster hold objs (in apply order) for the App, with server-side apply:
// CRDs first (waiting until they are served), then Namespaces, then everything else, in
// parallel. It finds what exists with one metadata LIST per kind and namespace, and sends no
// request for an object that is unchanged on both sides: its desired-hash annotation matches
// the new render and the fields Flotilla owns in it are those recorded in inv (see
// ownedFields); inv is only read. Each change of an object applied (or found unchanged) carries
// what the next inventory records of it (see NextInventory). An error for one object does not
// stop the others; the returned error joins every ApplyError.
func (m *Manager) Apply(ctx context.Context, objs []*unstructured.Unstructured, inv *Inventory, opts ApplyOptions) (ChangeSet, error) {
	if opts.EstablishTimeout <= 0 {
		opts.EstablishTimeout = DefaultApplyOptions().EstablishTimeout
	}
	var phases [3][]*unstructured.Unstructured
	for _, obj := range objs {
		switch gk := obj.GroupVersionKind().GroupKind(); gk {
		case schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}:
			phases[0] = append(phases[0], obj)
		case schema.GroupKind{Kind: "Namespace"}:
			phases[1] = append(phases[1], obj)
		default:
			phases[2] = append(phases[2], obj)
		}
	}
	prepared := m.prepareAll(objs)
	toWrite := m.toWrite(objs, prepared, inv, opts.Live)
	if opts.Progress != nil {
		opts.Progress("%s", toWriteMessage(len(objs), toWrite))
	}
	if opts.BeforeWrite != nil {
		if err := opts.BeforeWrite(toWrite); err != nil {
			return nil, err
		}
	}
	var changes ChangeSet
	var errs []error
	created := map[string]bool{} // namespaces this sync created: nothing is in them yet
	for i, phase := range phases {
		if len(phase) == 0 {
			continue
		}
		cs, err := m.applyPhase(ctx, phase, prepared, inv, opts, created)
		changes = append(changes, cs...)
		if err != nil {
			errs = append(errs, err)
		}
		if i == 1 {
			for _, c := range cs {
				if c.Action == ActionCreated {
					created[c.ID.Name] = true
				}
			}
		}
		if i == 0 {
			if err := m.waitEstablished(ctx, cs, opts.EstablishTimeout); err != nil {
				errs = append(errs, err)
				break // nothing of the CRDs' kinds can be applied
			}
			m.target.resetMapping()
		}
	}
	return changes, errors.Join(errs...)
}

// applyPhase applies objects that do not depend on each other. Objects in the empty namespaces
// need no LIST to know that they do not exist.
func (m *Manager) applyPhase(ctx context.Context, objs []*unstructured.Unstructured, prepared map[*unstructured.Unstructured]*desiredObject, inv *Inventory, opts ApplyOptions, empty map[string]bool) (ChangeSet, error) {
	changes := make(ChangeSet, len(objs))
	errs := make([]error, len(objs))
	desired := make([]*desiredObject, len(objs))
	for i, obj := range objs {
		d, err := prepared[obj], error(nil)
		if d == nil { // a kind a CRD of this render brings, served now
			d, err = m.prepare(obj)
		}
		changes[i] = Change{ID: object.IDOf(obj)}
		if err != nil {
			changes[i].Action, changes[i].Reason = ActionFailed, err.Error()
			errs[i] = &ApplyError{Cluster: m.target.Name, ID: changes[i].ID, Err: err}
			continue
		}
		desired[i] = d
		changes[i].ID = d.id
	}
	live, err := m.listLive(ctx, desired, opts.Live, empty)
	if err != nil {
		return changes, err
	}
	recorded := inv.byID()
	forEach(len(desired), m.Concurrency, func(i int) {
		d := desired[i]
		if d == nil {
			return
		}
		entry, inInventory := recorded[d.id]
		change, err := m.applyOne(ctx, d, live[d.id], entry, inInventory, opts)
		change.ID = d.id
		if err != nil {
			change.Reason = err.Error()
			errs[i] = &ApplyError{Cluster: m.target.Name, ID: d.id, Err: err}
		} else {
			change.Version = d.obj.GroupVersionKind().Version
		}
		changes[i] = change
	})
	return changes, errors.Join(errs...)
}

// prepare labels the object as the App's, hashes it and finds its resource.
func (m *Manager) prepare(obj *unstructured.Unstructured) (*desiredObject, error) {
	d := &desiredObject{}
	mapping, err := m.target.mapping(obj.GroupVersionKind())
	if err != nil {
		return nil, fmt.Errorf("the cluster serves no %s: %w", obj.GroupVersionKind(), err)
	}
	d.mapping = mapping
	if namespace := m.namespaceIn(obj, mapping.Scope.Name() == meta.RESTScopeNameNamespace); namespace != obj.GetNamespace() {
		obj = obj.DeepCopy()
		obj.SetNamespace(namespace)
	}
	if d.obj, d.hash, err = owned(obj, m.app); err != nil {
		return nil, err
	}
	d.id = object.IDOf(d.obj)
	return d, nil
}

// applyOne decides what one object needs and does it. It returns what it did, with the fields
// Flotilla owns afterwards.
func (m *Manager) applyOne(ctx context.Context, d *desiredObject, live *metav1.PartialObjectMetadata, entry InventoryEntry, inInventory bool, opts ApplyOptions) (Change, error) {
	if inInventory && unchangedSinceApply(d, live, entry) {
		return Change{Action: ActionUnchanged, Fields: entry.Fields}, nil
	}
	adopting, err := m.checkOwner(live, inInventory, opts.Adopt)
	if err != nil {
		return Change{Action: ActionFailed}, err
	}
	// Adopting takes over the fields the object's creator owns, and a conflict is otherwise
	// only forced when the pass says so, to report which manager lost which field; fields of
	// managers the App ignores are never taken.
	applied, d, left, taken, err := applyResolvingConflicts(d, opts.Ignore, adopting, opts.ForceConflicts,
		func(d *desiredObject, force bool) (*metav1.PartialObjectMetadata, error) {
			return m.target.applyMetadata(ctx, d, force)
		})
	var reasons []string
	if len(left) > 0 {
		reasons = append(reasons, leftTo(left))
	}
	if len(taken) > 0 {
		took := tookBack
		if adopting {
			took = tookOver
		}
		reasons = append(reasons, took(taken))
	}
	if conflictsOf(err) != nil {
		err = fmt.Errorf("%w (%s)", err, conflictAdvice)
	}
	if apierrors.IsInvalid(err) && live != nil {
		var healed string
		applied, healed, err = m.applyHealed(ctx, d, err, opts)
		reasons = append(reasons, healed)
	}
	if err != nil {
		return Change{Action: ActionFailed}, secretSafe(d.obj, err)
	}
	if applied.DeletionTimestamp != nil && d.id.Group == "" && d.id.Kind == "Namespace" {
		action, fields, err := m.recreateNamespace(ctx, d, opts)
		return Change{Action: action, Fields: fields}, err
	}
	change := Change{Action: ActionConfigured, Fields: ownedFields(applied), Reason: strings.Join(slices.DeleteFunc(reasons, func(r string) bool { return r == "" }), "; ")}
	switch {
	case live == nil || applied.UID != live.UID: // or deleted since it was listed
		change.Action = ActionCreated
	case applied.GetResourceVersion() == live.ResourceVersion:
		change.Action = ActionUnchanged
	}
	return change, nil
}

// applyHealed is the apply of an existing object that the API server refused (applyErr): if
// someone changed the key of an entry in a list Git sets, it writes Git's list (see listHeal)
// when the pass may take fields back, and applies again. Otherwise the refusal is Git's and
// stands.
func (m *Manager) applyHealed(ctx context.Context, d *desiredObject, applyErr error, opts ApplyOptions) (*metav1.PartialObjectMetadata, string, error) {
	live, err := m.target.resource(d.mapping, d.obj.GetNamespace()).Get(ctx, d.obj.GetName(), metav1.GetOptions{})
	if err != nil {
		return nil, "", applyErr
	}
	heal, err := m.planHeal(ctx, d, live, opts.Schemas)
	switch {
	case err != nil:
		return nil, "", fmt.Errorf("%w (and Git's lists cannot be written over it: %v)", applyErr, err)
	case heal == nil:
		return nil, "", applyErr
	case !opts.ForceConflicts:
		return nil, "", fmt.Errorf("%w (%s; %s)", applyErr, heal.describe(), healAdvice)
	}
	if _, err := m.writeHeal(ctx, d, heal); err != nil {
		return nil, "", fmt.Errorf("write Git's %s: %w", strings.Join(heal.lists, ", "), err)
	}
	applied, err := m.target.applyMetadata(ctx, d, true)
	if err != nil {
		return nil, "", err
	}
	if err := m.dropUpdateEntry(ctx, d, applied); err != nil {
		return nil, "", err
	}
	return applied, heal.describe(), nil
}

// checkOwner refuses to apply over an existing object that another App manages, or that
// Flotilla did not create unless adopt; it reports whether the apply adopts the object.
func (m *Manager) checkOwner(live *metav1.PartialObjectMetadata, inInventory, adopt bool) (adopting bool, err error) {
	if live == nil || inInventory {
		return false, nil
	}
	switch owner := live.Labels[LabelApp]; {
	case owner == m.app:
		return false, nil
	case owner != "":
		return false, fmt.Errorf("exists and belongs to App/%s; two Apps cannot manage one object", owner)
	case !adopt:
		return false, errors.New("exists and was not created by Flotilla; set spec.sync.adopt: true on the App to take it over")
	}
	return true, nil
}

// unchangedSinceApply reports whether neither side changed an object since Flotilla last applied
// it: Git asks for what it asked then (the desired-hash annotation), nobody changed, removed
// or took over a field Flotilla set (the owned-field fingerprint recorded in the inventory),
// and nobody deleted it.
func unchangedSinceApply(d *desiredObject, live *metav1.PartialObjectMetadata, entry InventoryEntry) bool {
	return live != nil && live.DeletionTimestamp == nil && live.Annotations[AnnotationDesiredHash] == d.hash && entry.Fields != "" && entry.Fields == ownedFields(live)
}

// describeApplyError adds what to do next to errors users can act on.
func describeApplyError(err error) error {
	if conflictsOf(err) != nil {
		return fmt.Errorf("%w (%s)", err, conflictAdvice)
	}
	return err
}

// waitEstablished waits until the CRDs just applied are served.
func (m *Manager) waitEstablished(ctx context.Context, changes ChangeSet, timeout time.Duration) error {
	crds := m.target.dynamic.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	deadline := time.Now().Add(timeout)
	for _, c := range changes {
		if c.Action == ActionFailed {
			continue
		}
		err := pollUntil(ctx, deadline, 100*time.Millisecond, func() bool {
			crd, err := crds.Get(ctx, c.ID.Name, metav1.GetOptions{})
			return err == nil && conditionTrue(crd, "Established")
		})
		switch {
		case errors.Is(err, errDeadline):
			return &ApplyError{Cluster: m.target.Name, ID: c.ID, Err: fmt.Errorf("not established after %s", timeout)}
		case err != nil:
			return err
		}
	}
	return nil
}

// conditionTrue reports whether the object's status has the condition with status True.
func conditionTrue(obj *unstructured.Unstructured, condition string) bool {
	status, _, _ := conditionStatus(obj, condition)
	return status == "True"
}

// conditionStatus returns a status condition's status, reason and message.
func conditionStatus(obj *unstructured.Unstructured, condition string) (status, reason, message string) {
	conditions, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conditions {
		cond, _ := c.(map[string]any)
		if cond["type"] == condition {
			status, _ = cond["status"].(string)
			reason, _ = cond["reason"].(string)
			message, _ = cond["message"].(string)
			return status, reason, message
		}
	}
	return "", "", ""
}
