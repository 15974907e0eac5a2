package clusters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/flotilla-dev/flotilla/internal/object"
)

// PruneOptions tune Prune.
type PruneOptions struct {
	// Propagation is how the API server deletes what a pruned object owns.
	Propagation metav1.DeletionPropagation
}

// DefaultPruneOptions delete owned objects in the background, as kubectl does.
func DefaultPruneOptions() PruneOptions {
	return PruneOptions{Propagation: metav1.DeletePropagationBackground}
}

// Prune deletes the inventory's objects that are not in desired: only objects Flotilla created
// for this App (the inventory says so and the live object still carries the App's label), never
// one annotated flotilla.dev/prune: disabled (skipped: it stays, without Flotilla's labels). Call it only after Apply of desired
// succeeded. inv is only read: NextInventory leaves out what was pruned or skipped.
func (m *Manager) Prune(ctx context.Context, inv *Inventory, desired map[object.ID]bool, opts PruneOptions) (ChangeSet, error) {
	stale := inv.Stale(desired)
	changes := make(ChangeSet, len(stale))
	errs := make([]error, len(stale))
	forEach(len(stale), m.Concurrency, func(i int) {
		e := stale[i]
		action, reason, err := m.pruneOne(ctx, e, opts)
		changes[i] = Change{ID: e.ID, Action: action, Reason: reason}
		if err != nil {
			changes[i].Reason = err.Error()
			errs[i] = &ApplyError{Cluster: m.target.Name, ID: e.ID, Err: err}
		}
	})
	return changes, errors.Join(errs...)
}

func (m *Manager) pruneOne(ctx context.Context, e InventoryEntry, opts PruneOptions) (Action, string, error) {
	d, err := m.decidePrune(ctx, e)
	switch {
	case err != nil:
		return d.action, d.reason, err
	case d.keep:
		if err := m.release(ctx, d); err != nil {
			return ActionFailed, "", err
		}
		return d.action, d.reason, nil
	case d.action != ActionPruned || d.live == nil:
		return d.action, d.reason, nil
	}
	uid := d.live.GetUID()
	propagation := opts.Propagation
	if propagation == "" {
		propagation = DefaultPruneOptions().Propagation
	}
	err = d.client.Delete(ctx, e.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}, PropagationPolicy: &propagation})
	if err != nil && !apierrors.IsNotFound(err) {
		return ActionFailed, "", err
	}
	return ActionPruned, "", nil
}

// pruneDecision is what a prune does with one inventory object that left Git.
type pruneDecision struct {
	action Action
	reason string
	// live is the object as it is (nil when gone), client its resource's.
	live   *unstructured.Unstructured
	client dynamic.ResourceInterface
	// keep: annotated flotilla.dev/prune: disabled, the object stays, released (see release).
	keep bool
}

// decidePrune reads an inventory object that left Git and decides: pruned (or already gone),
// skipped when the cluster no longer serves its kind or someone took the App's label off it,
// skipped and released when it is annotated flotilla.dev/prune: disabled.
func (m *Manager) decidePrune(ctx context.Context, e InventoryEntry) (pruneDecision, error) {
	mapping, err := m.target.mapping(e.GroupVersionKind())
	if err != nil {
		return pruneDecision{action: ActionSkipped, reason: "the cluster no longer serves this kind"}, nil
	}
	d := pruneDecision{action: ActionPruned, client: m.target.resource(mapping, e.Namespace)}
	d.live, err = d.client.Get(ctx, e.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		d.live, d.reason = nil, "already gone"
		return d, nil
	case err != nil:
		return pruneDecision{action: ActionFailed}, err
	case d.live.GetLabels()[LabelApp] != m.app:
		d.action, d.reason = ActionSkipped, fmt.Sprintf("no longer labelled %s=%s; left alone", LabelApp, m.app)
	case d.live.GetAnnotations()[AnnotationPrune] == "disabled":
		d.action, d.reason, d.keep = ActionSkipped, AnnotationPrune+": disabled: kept, Flotilla's labels removed", true
	}
	return d, nil
}

// released is the object as release leaves it: without Flotilla's labels and desired-hash
// annotation.
func released(live *unstructured.Unstructured) *unstructured.Unstructured {
	out := live.DeepCopy()
	unstructured.RemoveNestedField(out.Object, "metadata", "labels", LabelManagedBy)
	unstructured.RemoveNestedField(out.Object, "metadata", "labels", LabelApp)
	unstructured.RemoveNestedField(out.Object, "metadata", "annotations", AnnotationDesiredHash)
	return out
}

// release lets go of an object that stays in the cluster when it leaves the inventory: it
// removes Flotilla's labels and desired-hash annotation, and Flotilla's managedFields entries,
// so that the object no longer looks managed and nothing of
// Flotilla's holds on to its fields. It is optimistic on the resourceVersion.
func (m *Manager) release(ctx context.Context, d pruneDecision) error {
	ops := []map[string]any{{"op": "test", "path": "/metadata/resourceVersion", "value": d.live.GetResourceVersion()}}
	for _, label := range []string{LabelManagedBy, LabelApp} {
		if _, ok := d.live.GetLabels()[label]; ok {
			ops = append(ops, map[string]any{"op": "remove", "path": "/metadata/labels/" + jsonPointerEscape(label)})
		}
	}
	if _, ok := d.live.GetAnnotations()[AnnotationDesiredHash]; ok {
		ops = append(ops, map[string]any{"op": "remove", "path": "/metadata/annotations/" + jsonPointerEscape(AnnotationDesiredHash)})
	}
	entries := d.live.GetManagedFields()
	others := slices.DeleteFunc(slices.Clone(entries), func(e metav1.ManagedFieldsEntry) bool { return e.Manager == FieldManager })
	switch {
	case len(others) == len(entries):
	case len(others) == 0: // [{}] strips managedFields; an empty list would be ignored
		ops = append(ops, map[string]any{"op": "replace", "path": "/metadata/managedFields", "value": []map[string]any{{}}})
	default:
		ops = append(ops, map[string]any{"op": "replace", "path": "/metadata/managedFields", "value": others})
	}
	patch, err := json.Marshal(ops)
	if err != nil {
		return err
	}
	_, err = d.client.Patch(ctx, d.live.GetName(), types.JSONPatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
	if err != nil {
		return fmt.Errorf("remove Flotilla's labels from the object kept by %s: disabled: %w", AnnotationPrune, err)
	}
	return nil
}

// jsonPointerEscape escapes a key for a JSON pointer (RFC 6901).
func jsonPointerEscape(key string) string {
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}
