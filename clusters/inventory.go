package clusters

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/flotilla-dev/flotilla/internal/object"
)

// The inventory of an App on a cluster is a ConfigMap in InventoryNamespace named
// "inventory-APP". It lists every object Flotilla applied for the App, with a fingerprint of
// the fields Flotilla owns in it (see ownedFields), so that prune deletes only what Flotilla
// created and a later sync can tell without a request per object whether anyone touched them.
// It changes only when that list or a fingerprint changes: a commit that changes the values of
// one object writes that object and not the inventory.
const (
	InventoryNamespace = "flotilla-system"
	inventoryPrefix    = "inventory-"
	labelInventoryFor  = "flotilla.dev/inventory-for"
)

var configMapGVR = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// Inventory is what Flotilla manages for one App on one cluster.
type Inventory struct {
	App string `json:"app"`
	// Revision and Digest are the commit and render digest of the sync that last wrote the
	// inventory, i.e. that last changed the set of objects or who owns their fields.
	Revision string           `json:"revision,omitempty"`
	Digest   string           `json:"digest,omitempty"`
	Entries  []InventoryEntry `json:"objects"`
	// Updated is when the inventory was last written.
	Updated time.Time `json:"updated"`
}

// InventoryEntry is one managed object.
type InventoryEntry struct {
	object.ID
	// Version is the API version the object was applied with.
	Version string `json:"version"`
	// Fields fingerprints the fields Flotilla owned right after its last apply (ownedFields).
	Fields string `json:"fields"`
}

// GroupVersionKind of the entry.
func (e InventoryEntry) GroupVersionKind() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: e.Group, Version: e.Version, Kind: e.Kind}
}

// ReadInventory returns the App's inventory on the cluster, empty if there is none yet.
func ReadInventory(ctx context.Context, t *Target, app string) (*Inventory, error) {
	cm, err := t.dynamic.Resource(configMapGVR).Namespace(InventoryNamespace).Get(ctx, inventoryPrefix+app, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return &Inventory{App: app}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read inventory of App/%s: %w", app, err)
	}
	inv := &Inventory{App: app}
	raw, err := inventoryJSON(cm)
	if err == nil {
		err = json.Unmarshal(raw, inv)
	}
	if err != nil {
		return nil, fmt.Errorf("ConfigMap/%s/%s: corrupt inventory: %w", InventoryNamespace, cm.GetName(), err)
	}
	return inv, nil
}

// Where an inventory ConfigMap keeps the inventory: as JSON text up to inventoryPlainMax (so
// that kubectl shows it), gzipped beyond (a ConfigMap holds at most 1 MiB; an entry takes about
// 145 bytes as JSON and 22 gzipped, so that 10,000 objects, the most one render may hold, fit
// in about 220 KiB).
const (
	inventoryKey       = "inventory"
	inventoryGzipKey   = "inventory.json.gz"
	inventoryPlainMax  = 256 << 10
	inventoryMaxStored = 1000 << 10
)

// inventoryJSON reads the inventory's JSON from its ConfigMap, plain or gzipped.
func inventoryJSON(cm *unstructured.Unstructured) ([]byte, error) {
	if encoded, found, _ := unstructured.NestedString(cm.Object, "binaryData", inventoryGzipKey); found {
		compressed, err := base64.StdEncoding.DecodeString(encoded)
		if err != nil {
			return nil, err
		}
		r, err := gzip.NewReader(bytes.NewReader(compressed))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(io.LimitReader(r, 64<<20))
	}
	raw, _, _ := unstructured.NestedString(cm.Object, "data", inventoryKey)
	return []byte(raw), nil
}

// storeInventoryJSON puts b into cm, gzipped if it is large, and refuses what would not fit.
func storeInventoryJSON(cm *corev1.ConfigMap, b []byte) error {
	if len(b) <= inventoryPlainMax {
		cm.Data = map[string]string{inventoryKey: string(b)}
		return nil
	}
	var compressed bytes.Buffer
	w := gzip.NewWriter(&compressed)
	if _, err := w.Write(b); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if compressed.Len() > inventoryMaxStored {
		return fmt.Errorf("the inventory takes %d KiB even compressed, more than a ConfigMap holds: split the App", compressed.Len()>>10)
	}
	cm.BinaryData = map[string][]byte{inventoryGzipKey: compressed.Bytes()}
	return nil
}

// WriteInventory stores the inventory on the cluster, creating its namespace if needed.
func WriteInventory(ctx context.Context, t *Target, inv *Inventory) error {
	sort.Slice(inv.Entries, func(i, j int) bool { return inv.Entries[i].String() < inv.Entries[j].String() })
	inv.Updated = time.Now().UTC().Truncate(time.Second)
	b, err := json.Marshal(inv)
	if err != nil {
		return err
	}
	ns := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"name": InventoryNamespace, "labels": map[string]any{LabelManagedBy: ManagedByValue}},
	}}
	nsGVR := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	if _, err := t.dynamic.Resource(nsGVR).Get(ctx, InventoryNamespace, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		if _, err := t.dynamic.Resource(nsGVR).Apply(ctx, InventoryNamespace, ns, metav1.ApplyOptions{FieldManager: FieldManager}); err != nil {
			return fmt.Errorf("create Namespace/%s: %w", InventoryNamespace, err)
		}
	}
	cm := &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name: inventoryPrefix + inv.App, Namespace: InventoryNamespace,
			Labels: map[string]string{LabelManagedBy: ManagedByValue, labelInventoryFor: inv.App},
		},
	}
	if err := storeInventoryJSON(cm, b); err != nil {
		return fmt.Errorf("write inventory of App/%s: %w", inv.App, err)
	}
	obj, err := toUnstructured(cm)
	if err != nil {
		return err
	}
	_, err = t.dynamic.Resource(configMapGVR).Namespace(InventoryNamespace).Apply(ctx, cm.Name, obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return fmt.Errorf("write inventory of App/%s: %w", inv.App, err)
	}
	return nil
}

func toUnstructured(v any) (*unstructured.Unstructured, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	obj := &unstructured.Unstructured{}
	return obj, obj.UnmarshalJSON(b)
}

// Stale returns the entries of objects that are not desired any more: what a prune would delete.
func (inv *Inventory) Stale(desired map[object.ID]bool) []InventoryEntry {
	var stale []InventoryEntry
	for _, e := range inv.Entries {
		if !desired[e.ID] {
			stale = append(stale, e)
		}
	}
	return stale
}

// byID indexes the entries by object.
func (inv *Inventory) byID() map[object.ID]InventoryEntry {
	index := make(map[object.ID]InventoryEntry, len(inv.Entries))
	for _, e := range inv.Entries {
		index[e.ID] = e
	}
	return index
}

// Clone returns a deep copy.
func (inv *Inventory) Clone() *Inventory {
	out := *inv
	out.Entries = append([]InventoryEntry(nil), inv.Entries...)
	return &out
}

// IntendedInventory is prev with an entry, without a fingerprint, for each object of the render
// (objs, as the cluster names them: ids) that prev does not hold yet; nil when it holds them
// all. Written before the first create, it lets a later sync prune what an interrupted one
// created: the object is in the inventory from before it exists.
func IntendedInventory(prev *Inventory, objs []*unstructured.Unstructured, ids []object.ID) *Inventory {
	held := make(map[object.ID]bool, len(prev.Entries))
	for _, e := range prev.Entries {
		held[e.ID] = true
	}
	var next *Inventory
	for i, id := range ids {
		if held[id] {
			continue
		}
		if next == nil {
			next = prev.Clone()
		}
		held[id] = true
		next.Entries = append(next.Entries, InventoryEntry{ID: id, Version: objs[i].GroupVersionKind().Version})
	}
	return next
}

// NextInventory is the inventory after a sync, computed from the one before it and what the
// sync did, without changing either: objects applied or found unchanged are recorded with
// their new fingerprint (one that failed keeps its old entry, if any, so that it can still be
// pruned), objects pruned or skipped by the prune leave it (a skipped one is no longer
// Flotilla's), and failed prunes stay.
func NextInventory(prev *Inventory, applied, pruned ChangeSet) *Inventory {
	next := prev.Clone()
	index := make(map[object.ID]int, len(next.Entries))
	for i, e := range next.Entries {
		index[e.ID] = i
	}
	for _, c := range applied {
		if c.Action == ActionFailed || c.Version == "" { // not applied: Apply sets Version on every apply
			continue
		}
		e := InventoryEntry{ID: c.ID, Version: c.Version, Fields: c.Fields}
		if i, ok := index[c.ID]; ok {
			next.Entries[i] = e
			continue
		}
		index[c.ID] = len(next.Entries)
		next.Entries = append(next.Entries, e)
	}
	gone := map[object.ID]bool{}
	for _, c := range pruned {
		if c.Action == ActionPruned || c.Action == ActionSkipped {
			gone[c.ID] = true
		}
	}
	if len(gone) == 0 {
		return next
	}
	kept := next.Entries[:0]
	for _, e := range next.Entries {
		if !gone[e.ID] {
			kept = append(kept, e)
		}
	}
	next.Entries = kept
	return next
}

// SameAs reports whether two inventories record the same objects and fingerprints, so that a
// sync that changed neither writes no inventory, whatever its revision.
func (inv *Inventory) SameAs(other *Inventory) bool {
	if inv.App != other.App || len(inv.Entries) != len(other.Entries) {
		return false
	}
	index := other.byID()
	for _, e := range inv.Entries {
		if index[e.ID] != e {
			return false
		}
	}
	return true
}
