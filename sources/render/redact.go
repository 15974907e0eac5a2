package render

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

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
	if !IsSecret(obj) {
		return obj
	}
	out := obj.DeepCopy()
	for _, field := range []string{"data", "stringData"} {
		values, found, _ := unstructured.NestedMap(out.Object, field)
		if !found {
			continue
		}
		for key, v := range values {
			s, _ := v.(string)
			values[key] = fmt.Sprintf("%s (%d bytes)", Redacted, len(s))
		}
		_ = unstructured.SetNestedMap(out.Object, values, field)
	}
	if annotations := out.GetAnnotations(); annotations != nil {
		if _, ok := annotations["kubectl.kubernetes.io/last-applied-configuration"]; ok {
			annotations["kubectl.kubernetes.io/last-applied-configuration"] = Redacted
			out.SetAnnotations(annotations)
		}
	}
	return out
}
