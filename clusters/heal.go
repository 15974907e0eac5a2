package clusters

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// listHeal repairs what server-side apply cannot: someone changed the key of an entry in a list
// that Git sets (a Service port 9080 → 9081 with kubectl edit). The entry under the new key
// belongs to that manager, so applying Git's list merges Git's entry in beside it, and the API
// server refuses the result ("Duplicate value") or keeps both. The heal writes the list as Git
// has it with an update (Flotilla's field manager, optimistic on the resourceVersion): the live
// object without the foreign entries, with Git's fields merged in as an apply would. The apply
// that follows then owns what Git sets, and Flotilla's update entry is dropped from
// managedFields so that it holds on to nothing Git may later remove.
type listHeal struct {
	// healed is the object to write: live, foreign entries removed, Git's fields merged in.
	healed *unstructured.Unstructured
	// lists are the lists written, ".spec.ports".
	lists []string
	// managers set the foreign entries.
	managers []string
}

// describe is the reason a change carries: "wrote Git's .spec.ports over kubectl-edit's keys".
func (h *listHeal) describe() string {
	return fmt.Sprintf("wrote Git's %s as a whole: %s had changed the key of an entry", strings.Join(h.lists, ", "), strings.Join(h.managers, ", "))
}

// planHeal works out the heal of an object that Git's apply cannot be merged into, nil when no
// entry of a list Git sets has a key Git does not have (the error is then Git's own). It needs
// the cluster's schema of the kind, which says which lists are keyed by what.
func (m *Manager) planHeal(ctx context.Context, d *desiredObject, live *unstructured.Unstructured, schemas *Schemas) (*listHeal, error) {
	if schemas == nil {
		var err error
		if schemas, err = m.target.LoadSchemas(ctx); err != nil {
			return nil, err
		}
	}
	u, ok := schemas.urls[gvPath(d.obj.GroupVersionKind().GroupVersion())]
	if !ok {
		return nil, nil
	}
	tc, err := schemas.converter(ctx, u)
	if err != nil {
		return nil, err
	}
	liveTyped, err := tc.ObjectToTyped(live)
	if err != nil {
		return nil, fmt.Errorf("read the live object: %w", err)
	}
	desiredTyped, err := tc.ObjectToTyped(d.obj)
	if err != nil {
		return nil, fmt.Errorf("read Git's object: %w", err)
	}
	liveSet, err := liveTyped.ToFieldSet()
	if err != nil {
		return nil, err
	}
	desiredSet, err := desiredTyped.ToFieldSet()
	if err != nil {
		return nil, err
	}
	foreign, lists := foreignEntries(liveSet, desiredSet)
	if foreign.Empty() {
		return nil, nil
	}
	merged, err := liveTyped.RemoveItems(foreign).Merge(desiredTyped)
	if err != nil {
		return nil, fmt.Errorf("merge Git's object: %w", err)
	}
	content, ok := merged.AsValue().Unstructured().(map[string]any)
	if !ok {
		return nil, fmt.Errorf("merge Git's object: not an object")
	}
	return &listHeal{healed: &unstructured.Unstructured{Object: content}, lists: lists, managers: ownersOf(live, foreign)}, nil
}

// foreignEntries are the entries of lists Git sets (lists keyed by a map key or set value) that
// live holds and Git does not, and those lists' paths.
func foreignEntries(live, desired *fieldpath.Set) (*fieldpath.Set, []string) {
	desiredLists := map[string]bool{}
	desired.Iterate(func(p fieldpath.Path) {
		if isListEntry(p) {
			desiredLists[p[:len(p)-1].String()] = true
		}
	})
	foreign := fieldpath.NewSet()
	var lists []string
	live.Iterate(func(p fieldpath.Path) {
		if !isListEntry(p) || desired.Has(p) {
			return
		}
		if list := p[:len(p)-1].String(); desiredLists[list] {
			foreign.Insert(p.Copy())
			lists = append(lists, list)
		}
	})
	slices.Sort(lists)
	return foreign, slices.Compact(lists)
}

// isListEntry reports whether the path ends at an entry of a keyed list or set.
func isListEntry(p fieldpath.Path) bool {
	if len(p) == 0 {
		return false
	}
	last := p[len(p)-1]
	return last.Key != nil || last.Value != nil
}

// ownersOf names the managers whose managedFields hold any of the entries.
func ownersOf(live *unstructured.Unstructured, entries *fieldpath.Set) []string {
	var owners []string
	for _, e := range live.GetManagedFields() {
		if e.FieldsV1 == nil || slices.Contains(owners, e.Manager) {
			continue
		}
		owned := &fieldpath.Set{}
		if owned.FromJSON(bytes.NewReader(e.FieldsV1.GetRawBytes())) != nil {
			continue
		}
		if !owned.Intersection(entries).Empty() {
			owners = append(owners, e.Manager)
		}
	}
	if len(owners) == 0 {
		owners = []string{"another manager"}
	}
	return owners
}

// writeHeal updates the object to the heal's and returns what the server made of it.
func (m *Manager) writeHeal(ctx context.Context, d *desiredObject, h *listHeal) (*unstructured.Unstructured, error) {
	return m.updateHeal(ctx, d, h, metav1.UpdateOptions{FieldManager: FieldManager})
}

// dryRunHeal is writeHeal as a server-side dry run: what the server would make of the heal.
func (m *Manager) dryRunHeal(ctx context.Context, d *desiredObject, h *listHeal) (*unstructured.Unstructured, error) {
	return m.updateHeal(ctx, d, h, metav1.UpdateOptions{FieldManager: FieldManager, DryRun: []string{metav1.DryRunAll}})
}

// updateHeal sends the heal's update with opts.
func (m *Manager) updateHeal(ctx context.Context, d *desiredObject, h *listHeal, opts metav1.UpdateOptions) (*unstructured.Unstructured, error) {
	written, err := m.target.resource(d.mapping, d.obj.GetNamespace()).Update(ctx, h.healed, opts)
	if apierrors.IsConflict(err) {
		return nil, fmt.Errorf("changed while Flotilla wrote Git's %s; sync again: %w", strings.Join(h.lists, ", "), err)
	}
	return written, err
}

// dropUpdateEntry removes Flotilla's update entry from the object's managedFields (the heal
// made it; the apply after it owns what Git sets), so that it keeps no field Git may remove
// later. It is optimistic on the resourceVersion: if someone wrote in between, the entry stays
// and is harmless until a later heal.
func (m *Manager) dropUpdateEntry(ctx context.Context, d *desiredObject, applied *metav1.PartialObjectMetadata) error {
	entries := applied.GetManagedFields()
	kept := slices.DeleteFunc(slices.Clone(entries), func(e metav1.ManagedFieldsEntry) bool {
		return e.Manager == FieldManager && e.Operation == metav1.ManagedFieldsOperationUpdate
	})
	if len(kept) == len(entries) || len(kept) == 0 {
		return nil
	}
	patch, err := json.Marshal([]map[string]any{
		{"op": "test", "path": "/metadata/resourceVersion", "value": applied.ResourceVersion},
		{"op": "replace", "path": "/metadata/managedFields", "value": kept},
	})
	if err != nil {
		return err
	}
	_, err = m.target.resource(d.mapping, d.obj.GetNamespace()).Patch(ctx, d.obj.GetName(), types.JSONPatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
	if apierrors.IsInvalid(err) || apierrors.IsConflict(err) { // the test failed: someone wrote
		return nil
	}
	return err
}
