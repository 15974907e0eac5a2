package clusters

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The rules that tell who changed an object from its managedFields, on hand-made metadata
// (the watch tests see them on a real cluster).

type fields struct {
	manager, op, sub string
	at               int64 // seconds after t0
	set              string
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func digestOf(gen int64, labels map[string]string, entries ...fields) *watched {
	obj := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Generation: gen, Labels: labels}}
	for _, e := range entries {
		at := metav1.NewTime(t0.Add(time.Duration(e.at) * time.Second))
		obj.ManagedFields = append(obj.ManagedFields, metav1.ManagedFieldsEntry{
			Manager: e.manager, Operation: metav1.ManagedFieldsOperationType(e.op), Subresource: e.sub,
			APIVersion: "v1", Time: &at, FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(e.set),
		})
	}
	return reduce(obj)
}

var shopLabels = map[string]string{LabelManagedBy: ManagedByValue, LabelApp: "shop"}

const (
	flotillaSet = `{"f:data":{"f:mode":{},"f:size":{}}}`
	lostMode    = `{"f:data":{"f:size":{}}}`
	modeSet     = `{"f:data":{"f:mode":{}}}`
)

func TestWatchWriter(t *testing.T) {
	applied := fields{"flotilla", "Apply", "", 0, flotillaSet}
	status := fields{"kube-controller-manager", "Update", "status", 0, `{"f:status":{}}`}
	for _, tc := range []struct {
		name        string
		old, new    *watched
		wantChanged bool
		wantWriter  string // manager/operation, "" for none found
	}{
		{"status only", digestOf(1, shopLabels, applied, status), digestOf(1, shopLabels, applied, fields{"kube-controller-manager", "Update", "status", 9, `{"f:status":{"f:x":{}}}`}), false, ""},
		{"patch by hotfix", digestOf(1, shopLabels, applied), digestOf(1, shopLabels, fields{"flotilla", "Apply", "", 0, lostMode}, fields{"hotfix", "Update", "", 3, modeSet}), true, "hotfix/Update"},
		{"hotfix in the second of flotilla's apply", digestOf(1, shopLabels, applied), digestOf(1, shopLabels, fields{"flotilla", "Apply", "", 0, lostMode}, fields{"hotfix", "Update", "", 0, modeSet}), true, "hotfix/Update"},
		{"scale", digestOf(1, shopLabels, applied), digestOf(2, shopLabels, fields{"flotilla", "Apply", "", 0, lostMode}, fields{"kubectl", "Update", "scale", 4, modeSet}), true, "kubectl/Update/scale"},
		{"flotilla takes back", digestOf(1, shopLabels, fields{"flotilla", "Apply", "", 0, lostMode}, fields{"hotfix", "Update", "", 3, modeSet}), digestOf(1, shopLabels, applied), true, "flotilla/Apply"},
		{"flotilla takes back in the same second", digestOf(1, shopLabels, fields{"flotilla", "Apply", "", 3, lostMode}, fields{"hotfix", "Update", "", 3, modeSet}), digestOf(1, shopLabels, fields{"flotilla", "Apply", "", 3, flotillaSet}), true, "flotilla/Apply"},
		{"flotilla writes a new value in the second of its last", digestOf(1, shopLabels, applied), digestOf(1, map[string]string{LabelManagedBy: ManagedByValue, LabelApp: "shop", "v": "2"}, applied), true, "flotilla/Apply"},
		{"revision annotation by the status writer", digestOf(1, shopLabels, applied, status), digestOf(1, map[string]string{LabelManagedBy: ManagedByValue, LabelApp: "shop", "rev": "2"}, applied, fields{"kube-controller-manager", "Update", "status", 7, `{"f:metadata":{}}`}), true, "kube-controller-manager/Update/status"},
		{"scale beside a status update of the same second", digestOf(1, shopLabels, applied, status), digestOf(2, shopLabels, fields{"flotilla", "Apply", "", 0, lostMode}, fields{"kubectl", "Update", "scale", 4, modeSet}, fields{"kube-controller-manager", "Update", "status", 4, `{"f:status":{"f:y":{}}}`}), true, "kubectl/Update/scale"},
		{"hotfix writes again in the same second", digestOf(1, shopLabels, applied, fields{"hotfix", "Update", "", 5, `{"f:data":{"f:x":{}}}`}), digestOf(2, shopLabels, applied, fields{"hotfix", "Update", "", 5, `{"f:data":{"f:x":{}}}`}), true, "hotfix/Update"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := changed(tc.old, tc.new); got != tc.wantChanged {
				t.Errorf("changed = %v, want %v", got, tc.wantChanged)
			}
			if !tc.wantChanged {
				return
			}
			w, ok := writer(tc.old, tc.new)
			got := ""
			if ok {
				got = w.manager.Value() + "/" + w.operation.Value()
			}
			if got != tc.wantWriter {
				t.Errorf("writer = %q, want %q", got, tc.wantWriter)
			}
		})
	}
}

// TestWatchDigestOwnedFields: the digest keeps ownedFields' fingerprint, which changes when Flotilla's
// field set does and not when another manager's does.
func TestWatchDigestOwnedFields(t *testing.T) {
	a := digestOf(1, shopLabels, fields{"flotilla", "Apply", "", 0, flotillaSet})
	b := digestOf(1, shopLabels, fields{"flotilla", "Apply", "", 0, lostMode}, fields{"hotfix", "Update", "", 1, modeSet})
	c := digestOf(1, shopLabels, fields{"flotilla", "Apply", "", 0, lostMode}, fields{"hotfix", "Update", "", 2, `{"f:data":{"f:mode":{},"f:x":{}}}`})
	if a.owned == b.owned {
		t.Error("Flotilla lost a field and the fingerprint did not change")
	}
	if b.owned != c.owned {
		t.Error("another manager's fields changed the fingerprint")
	}
	if none := digestOf(1, shopLabels, fields{"hotfix", "Update", "", 1, modeSet}); none.owned != [16]byte{} {
		t.Error("an object without Flotilla's entry has a fingerprint")
	}
	if a.app.Value() != "shop" || len(a.Labels) != 0 || len(a.ManagedFields) != 0 {
		t.Errorf("digest kept too much or too little: app %q, labels %v", a.app.Value(), a.Labels)
	}
}
