package clusters

import (
	"slices"
	"testing"
)

// TestFieldPaths: a managedFields field set is listed leaf by leaf, in the form conflicts name
// fields.
func TestFieldPaths(t *testing.T) {
	set := `{"f:data":{"f:value":{}},"f:spec":{"f:replicas":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:image":{}}}}},` +
		`"f:ports":{"k:{\"port\":80,\"protocol\":\"TCP\"}":{".":{}}}},"f:metadata":{"f:finalizers":{"v:\"x\"":{}}}}`
	got, err := FieldPaths([]byte(set))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".data.value", `.metadata.finalizers[v="x"]`, `.spec.ports[port=80,protocol="TCP"]`, ".spec.replicas", `.spec.template.spec.containers[name="web"].image`}
	if !slices.Equal(got, want) {
		t.Errorf("FieldPaths:\n got %q\nwant %q", got, want)
	}
}
