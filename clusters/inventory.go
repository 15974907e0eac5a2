package clusters

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/flotilla-dev/flotilla/sources/render"
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
	render.ObjectID
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
	raw, _, _ := unstructured.NestedString(cm.Object, "data", "inventory")
	if err := json.Unmarshal([]byte(raw), inv); err != nil {
		return nil, fmt.Errorf("ConfigMap/%s/%s: corrupt inventory: %w", InventoryNamespace, cm.GetName(), err)
	}
	return inv, nil
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
			return fmt.Errorf("%s: create Namespace/%s: %w", t.Name, InventoryNamespace, err)
		}
	}
	cm := &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name: inventoryPrefix + inv.App, Namespace: InventoryNamespace,
			Labels: map[string]string{LabelManagedBy: ManagedByValue, labelInventoryFor: inv.App},
		},
		Data: map[string]string{"inventory": string(b)},
	}
	obj, err := toUnstructured(cm)
	if err != nil {
		return err
	}
	_, err = t.dynamic.Resource(configMapGVR).Namespace(InventoryNamespace).Apply(ctx, cm.Name, obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return fmt.Errorf("%s: write inventory of App/%s: %w", t.Name, inv.App, err)
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
func (inv *Inventory) Stale(desired map[render.ObjectID]bool) []InventoryEntry {
	var stale []InventoryEntry
	for _, e := range inv.Entries {
		if !desired[e.ObjectID] {
			stale = append(stale, e)
		}
	}
	return stale
}

// byID indexes the entries by object.
func (inv *Inventory) byID() map[render.ObjectID]InventoryEntry {
	index := make(map[render.ObjectID]InventoryEntry, len(inv.Entries))
	for _, e := range inv.Entries {
		index[e.ObjectID] = e
	}
	return index
}

// Clone returns a deep copy, to compare with after a sync.
func (inv *Inventory) Clone() *Inventory {
	out := *inv
	out.Entries = append([]InventoryEntry(nil), inv.Entries...)
	return &out
}

// SameAs reports whether two inventories record the same objects and fingerprints, so that a
// sync that changed neither writes no inventory, whatever its revision.
func (inv *Inventory) SameAs(other *Inventory) bool {
	if inv.App != other.App || len(inv.Entries) != len(other.Entries) {
		return false
	}
	index := other.byID()
	for _, e := range inv.Entries {
		if index[e.ObjectID] != e {
			return false
		}
	}
	return true
}
