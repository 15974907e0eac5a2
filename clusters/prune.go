package clusters

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
// one annotated flotilla.dev/prune: disabled (skipped). Call it only after Apply of desired
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
	mapping, err := m.target.mapping(e.GroupVersionKind())
	if err != nil {
		return ActionSkipped, "the cluster no longer serves this kind", nil
	}
	client := m.target.resource(mapping, e.Namespace)
	live, err := client.Get(ctx, e.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return ActionPruned, "already gone", nil
	}
	if err != nil {
		return ActionFailed, "", err
	}
	if live.GetLabels()[LabelApp] != m.app {
		return ActionSkipped, fmt.Sprintf("no longer labelled %s=%s; left alone", LabelApp, m.app), nil
	}
	if live.GetAnnotations()[AnnotationPrune] == "disabled" {
		return ActionSkipped, AnnotationPrune + ": disabled", nil
	}
	uid := live.GetUID()
	propagation := opts.Propagation
	if propagation == "" {
		propagation = DefaultPruneOptions().Propagation
	}
	err = client.Delete(ctx, e.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}, PropagationPolicy: &propagation})
	if err != nil && !apierrors.IsNotFound(err) {
		return ActionFailed, "", err
	}
	return ActionPruned, "", nil
}
