package clusters

import (
	"context"
	"errors"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/flotilla-dev/flotilla/internal/object"
)

// resourceKey is what one LIST covers: a resource in a namespace ("" for cluster-scoped).
type resourceKey struct {
	gvr       schema.GroupVersionResource
	namespace string
}

// LiveObjects is the metadata of what a cluster holds, by resource and namespace, as listed at
// one moment.
type LiveObjects struct {
	lists map[resourceKey][]metav1.PartialObjectMetadata
}

// Prefetch lists the metadata of every resource and namespace the inventory's objects live in,
// in parallel, so that a sync can read the cluster while the new revision renders. It is a
// best effort: what cannot be listed is left out, and Apply lists it itself.
func (m *Manager) Prefetch(ctx context.Context, inv *Inventory) *LiveObjects {
	keys := map[resourceKey]bool{}
	for _, e := range inv.Entries {
		if mapping, err := m.target.mapping(e.GroupVersionKind()); err == nil {
			keys[resourceKey{mapping.Resource, e.Namespace}] = true
		}
	}
	lists, _ := m.listKeys(ctx, keys)
	return &LiveObjects{lists: lists}
}

// listLive finds which desired objects exist, with one metadata-only LIST per resource and
// namespace, in parallel. A list in prefetched is used instead when it holds every desired
// object of its resource and namespace; where one is missing, the list is made again, so that
// an object someone created since the prefetch is not mistaken for a new one. Namespaces in
// empty were created moments ago by this sync and are not listed.
func (m *Manager) listLive(ctx context.Context, desired []*desiredObject, prefetched *LiveObjects, empty map[string]bool) (map[object.ID]*metav1.PartialObjectMetadata, error) {
	groupKinds := map[resourceKey]schema.GroupKind{}
	wanted := map[resourceKey][]object.ID{}
	for _, d := range desired {
		if d != nil {
			key := resourceKey{d.mapping.Resource, d.obj.GetNamespace()}
			groupKinds[key] = d.obj.GroupVersionKind().GroupKind()
			wanted[key] = append(wanted[key], d.id)
		}
	}
	lists := map[resourceKey][]metav1.PartialObjectMetadata{}
	missing := map[resourceKey]bool{}
	for key, ids := range wanted {
		items, ok := prefetched.list(key)
		switch {
		case key.namespace != "" && empty[key.namespace]:
			lists[key] = nil // created by this sync: whatever was listed before is gone
		case ok && holdsAll(items, ids):
			lists[key] = items
		default:
			missing[key] = true
		}
	}
	listed, err := m.listKeys(ctx, missing)
	if err != nil {
		return nil, err
	}
	for key, items := range listed {
		lists[key] = items
	}
	live := map[object.ID]*metav1.PartialObjectMetadata{}
	for key, items := range lists {
		gk := groupKinds[key]
		for i := range items {
			item := &items[i]
			live[object.ID{Group: gk.Group, Kind: gk.Kind, Namespace: item.Namespace, Name: item.Name}] = item
		}
	}
	return live, nil
}

func (l *LiveObjects) list(key resourceKey) ([]metav1.PartialObjectMetadata, bool) {
	if l == nil {
		return nil, false
	}
	items, ok := l.lists[key]
	return items, ok
}

func holdsAll(items []metav1.PartialObjectMetadata, ids []object.ID) bool {
	names := make(map[string]bool, len(items))
	for _, item := range items {
		names[item.Name] = true
	}
	for _, id := range ids {
		if !names[id.Name] {
			return false
		}
	}
	return true
}

// listKeys makes one metadata LIST per key, m.Concurrency at a time. A namespace that does not
// exist yet holds nothing.
func (m *Manager) listKeys(ctx context.Context, keys map[resourceKey]bool) (map[resourceKey][]metav1.PartialObjectMetadata, error) {
	ordered := make([]resourceKey, 0, len(keys))
	for key := range keys {
		ordered = append(ordered, key)
	}
	var (
		mu    sync.Mutex
		lists = make(map[resourceKey][]metav1.PartialObjectMetadata, len(keys))
		errs  []error
	)
	forEach(len(ordered), m.Concurrency, func(i int) {
		key := ordered[i]
		var list *metav1.PartialObjectMetadataList
		var err error
		if key.namespace == "" {
			list, err = m.target.metadata.Resource(key.gvr).List(ctx, metav1.ListOptions{})
		} else {
			list, err = m.target.metadata.Resource(key.gvr).Namespace(key.namespace).List(ctx, metav1.ListOptions{})
		}
		mu.Lock()
		defer mu.Unlock()
		switch {
		case apierrors.IsNotFound(err):
			lists[key] = nil
		case err != nil:
			errs = append(errs, fmt.Errorf("list %s: %w", key.gvr.Resource, err))
		default:
			lists[key] = list.Items
		}
	})
	return lists, errors.Join(errs...)
}

// prepareAll prepares the objects whose kinds the cluster serves (the others may come with a
// CRD of the render: Apply prepares them once it is served), by object.
func (m *Manager) prepareAll(objs []*unstructured.Unstructured) map[*unstructured.Unstructured]*desiredObject {
	prepared := make(map[*unstructured.Unstructured]*desiredObject, len(objs))
	for _, obj := range objs {
		if d, err := m.prepare(obj); err == nil {
			prepared[obj] = d
		}
	}
	return prepared
}

// toWrite counts the objects Apply will write, as far as the prefetched metadata tells: all but
// those unchanged on both sides since the last apply.
func (m *Manager) toWrite(objs []*unstructured.Unstructured, prepared map[*unstructured.Unstructured]*desiredObject, inv *Inventory, live *LiveObjects) int {
	recorded := inv.byID()
	byName := map[resourceKey]map[string]*metav1.PartialObjectMetadata{}
	n := 0
	for _, obj := range objs {
		d := prepared[obj]
		if d == nil {
			n++
			continue
		}
		key := resourceKey{d.mapping.Resource, d.obj.GetNamespace()}
		names, ok := byName[key]
		if !ok {
			items, _ := live.list(key)
			names = make(map[string]*metav1.PartialObjectMetadata, len(items))
			for i := range items {
				names[items[i].Name] = &items[i]
			}
			byName[key] = names
		}
		entry, inInventory := recorded[d.id]
		if !inInventory || !unchangedSinceApply(d, names[d.obj.GetName()], entry) {
			n++
		}
	}
	return n
}

// toWriteMessage is "28 objects: 1 to write".
func toWriteMessage(objects, writes int) string {
	noun := "objects"
	if objects == 1 {
		noun = "object"
	}
	if writes == 0 {
		return fmt.Sprintf("%d %s: nothing to write", objects, noun)
	}
	return fmt.Sprintf("%d %s: %d to write", objects, noun, writes)
}
