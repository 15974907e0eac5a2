package clusters

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flotilla-dev/flotilla/internal/object"
)

// TestInventoryFitsTheLargestRender: an inventory of as many objects as one render may hold
// (10,000) is stored gzipped within a ConfigMap's 1 MiB and reads back the same; a small one
// stays readable JSON.
func TestInventoryFitsTheLargestRender(t *testing.T) {
	for _, n := range []int{3, 10_000} {
		inv := &Inventory{App: "shop", Revision: "0123456789abcdef0123456789abcdef01234567", Digest: "sha256:00"}
		for i := range n {
			inv.Entries = append(inv.Entries, InventoryEntry{
				ID:      object.ID{Group: "apps", Kind: "Deployment", Namespace: "shop-production", Name: fmt.Sprintf("web-%05d", i)},
				Version: "v1", Fields: fmt.Sprintf("%x", sha256.Sum256([]byte{byte(i), byte(i >> 8)}))[:32], // as random as a real fingerprint
			})
		}
		b, err := json.Marshal(inv)
		if err != nil {
			t.Fatal(err)
		}
		cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}}
		if err := storeInventoryJSON(cm, b); err != nil {
			t.Fatalf("%d entries: %v", n, err)
		}
		stored := len(cm.Data[inventoryKey]) + len(cm.BinaryData[inventoryGzipKey])
		if stored > 1<<20 {
			t.Errorf("%d entries take %d bytes, more than a ConfigMap holds", n, stored)
		}
		if compressed := cm.BinaryData != nil; compressed != (n > 100) {
			t.Errorf("%d entries (%d bytes of JSON): compressed = %v", n, len(b), compressed)
		}
		obj, err := toUnstructured(cm)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := inventoryJSON(obj)
		if err != nil {
			t.Fatal(err)
		}
		back := &Inventory{}
		if err := json.Unmarshal(raw, back); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(inv, back); diff != "" {
			t.Errorf("%d entries read back differently (-stored +read):\n%s", n, diff)
		}
		t.Logf("%d entries: %d bytes of JSON, %d stored", n, len(b), stored)
	}
}

// TestNextInventory: the next inventory follows from the previous one and what the sync did,
// and the previous one is left as it was.
func TestNextInventory(t *testing.T) {
	id := func(name string) object.ID {
		return object.ID{Kind: "ConfigMap", Namespace: "shop", Name: name}
	}
	prev := &Inventory{App: "shop", Entries: []InventoryEntry{
		{ID: id("kept"), Version: "v1", Fields: "old"},
		{ID: id("changed"), Version: "v1", Fields: "old"},
		{ID: id("failed-apply"), Version: "v1", Fields: "old"},
		{ID: id("pruned"), Version: "v1", Fields: "old"},
		{ID: id("skipped"), Version: "v1", Fields: "old"},
		{ID: id("failed-prune"), Version: "v1", Fields: "old"},
	}}
	before := prev.Clone()
	applied := ChangeSet{
		{ID: id("kept"), Action: ActionUnchanged, Version: "v1", Fields: "old"},
		{ID: id("changed"), Action: ActionConfigured, Version: "v1", Fields: "new"},
		{ID: id("failed-apply"), Action: ActionFailed, Reason: "conflict"},
		{ID: id("new"), Action: ActionCreated, Version: "v1", Fields: "new"},
		{ID: id("never-applied"), Action: ActionFailed},
	}
	pruned := ChangeSet{
		{ID: id("pruned"), Action: ActionPruned},
		{ID: id("skipped"), Action: ActionSkipped, Reason: "flotilla.dev/prune: disabled"},
		{ID: id("failed-prune"), Action: ActionFailed},
	}
	want := &Inventory{App: "shop", Entries: []InventoryEntry{
		{ID: id("kept"), Version: "v1", Fields: "old"},
		{ID: id("changed"), Version: "v1", Fields: "new"},
		{ID: id("failed-apply"), Version: "v1", Fields: "old"},
		{ID: id("failed-prune"), Version: "v1", Fields: "old"},
		{ID: id("new"), Version: "v1", Fields: "new"},
	}}
	if diff := cmp.Diff(want, NextInventory(prev, applied, pruned)); diff != "" {
		t.Errorf("next inventory (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, prev); diff != "" {
		t.Errorf("the previous inventory changed (-before +after):\n%s", diff)
	}
}
