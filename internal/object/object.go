// Package object names Kubernetes objects and keeps Secret values out of what is shown of them.
// It is a leaf: the ledger, the server and the CLI can use it without pulling in kustomize or
// client-go.
package object

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ID names an object the way errors and inventories do: Kind/namespace/name, with the group
// when there is one.
type ID struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// IDOf returns an object's ID.
func IDOf(obj *unstructured.Unstructured) ID {
	gvk := obj.GroupVersionKind()
	return ID{Group: gvk.Group, Kind: gvk.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// String is Kind/namespace/name, or Kind/name for cluster-scoped objects, with ".group" after
// the kind when the group is not core: "Deployment.apps/shop/web".
func (id ID) String() string {
	kind := id.Kind
	if id.Group != "" {
		kind += "." + id.Group
	}
	if id.Namespace == "" {
		return kind + "/" + id.Name
	}
	return kind + "/" + id.Namespace + "/" + id.Name
}

// Redacted is what a Secret value is replaced with wherever objects are shown.
const Redacted = "[redacted]"

// IsSecret reports whether obj is a core Secret.
func IsSecret(obj *unstructured.Unstructured) bool {
	gvk := obj.GroupVersionKind()
	return gvk.Group == "" && gvk.Kind == "Secret"
}

// RedactSecret returns obj itself unless it is a Secret; for a Secret it returns a copy whose
// data and stringData values, and the last-applied annotation that would repeat them, are
// replaced by Redacted (with the length, which says whether a value changed size but not what
// it is).
func RedactSecret(obj *unstructured.Unstructured) *unstructured.Unstructured {
	return ReplaceSecretValues(obj, func(v any) string {
		s, _ := v.(string)
		return fmt.Sprintf("%s (%d bytes)", Redacted, len(s))
	})
}

// ReplaceSecretValues returns obj itself unless it is a Secret; for a Secret it returns a copy
// in which replace(value) stands for each data and stringData value, and Redacted for kubectl's
// last-applied annotation, which would repeat them.
func ReplaceSecretValues(obj *unstructured.Unstructured, replace func(value any) string) *unstructured.Unstructured {
	if !IsSecret(obj) {
		return obj
	}
	out := obj.DeepCopy()
	for _, field := range []string{"data", "stringData"} {
		values, _ := out.Object[field].(map[string]any)
		for key, v := range values {
			values[key] = replace(v)
		}
	}
	if annotations := out.GetAnnotations(); annotations[lastApplied] != "" {
		annotations[lastApplied] = Redacted
		out.SetAnnotations(annotations)
	}
	return out
}

// lastApplied is kubectl's annotation that repeats a client-side applied object, values and all.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// RedactSecretText returns text, an error message about obj, with nothing of obj's values in it
// when obj is a Secret: every data and stringData value (and the decoded form of data values)
// of four or more characters is replaced by Redacted, and what a schema check says it got
// instead of the expected type (", got …") is dropped, however short the value.
func RedactSecretText(obj *unstructured.Unstructured, text string) string {
	if !IsSecret(obj) {
		return text
	}
	text = gotValue.ReplaceAllString(text, ", got a value of another type")
	var values []string
	for _, field := range []string{"data", "stringData"} {
		m, _, _ := unstructured.NestedFieldNoCopy(obj.Object, field)
		entries, _ := m.(map[string]any)
		for _, v := range entries {
			s := fmt.Sprint(v)
			values = append(values, s)
			if decoded, err := base64.StdEncoding.DecodeString(s); field == "data" && err == nil {
				values = append(values, string(decoded))
			}
		}
	}
	// Longest first, so that a value containing another is replaced whole.
	sort.Slice(values, func(i, j int) bool { return len(values[i]) > len(values[j]) })
	for _, v := range values {
		if len(v) < 4 {
			continue
		}
		text = strings.ReplaceAll(text, v, Redacted)
		if quoted := strconv.Quote(v); quoted[1:len(quoted)-1] != v { // as %q prints it
			text = strings.ReplaceAll(text, quoted[1:len(quoted)-1], Redacted)
		}
	}
	return text
}

// gotValue is the part of a structured-merge-diff type error that prints the value found.
var gotValue = regexp.MustCompile(`, got [^\n;]*`)
