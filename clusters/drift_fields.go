package clusters

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fieldsOf reads the object (one metadata GET, bounded by DeleteCheckTimeout) and returns the
// fields that the manager's managedFields entry of the operation holds, as paths in the form
// server-side apply conflicts name them (".data.value", `.spec.containers[name="web"].image`):
// after a change of Flotilla's fields, the fields that manager took. Nil when the object or the
// entry is gone (Flotilla took the fields back since), or the read failed.
func (rw *resourceWatch) fieldsOf(ctx context.Context, o *watched, manager, operation string) []string {
	check, cancel := context.WithTimeout(ctx, rw.w.opts.DeleteCheckTimeout)
	defer cancel()
	live, err := rw.w.target.metadata.Resource(rw.gvr).Namespace(o.Namespace).Get(check, o.Name, metav1.GetOptions{})
	if err != nil || live.UID != o.UID {
		return nil
	}
	for _, e := range live.ManagedFields {
		op := string(e.Operation)
		if e.Subresource != "" {
			op += "/" + e.Subresource
		}
		if e.Manager == manager && op == operation && e.FieldsV1 != nil {
			paths, _ := FieldPaths(e.FieldsV1.GetRawBytes())
			return paths
		}
	}
	return nil
}

// FieldPaths lists the fields of a managedFields entry's field set (FieldsV1: {"f:data":
// {"f:value": {}}}), leaves only, sorted, as paths in the form server-side apply conflicts name
// them: ".data.value", `.spec.containers[name="web"].image`, ".spec.ports[port=80,protocol="TCP"]",
// ".metadata.finalizers[v="x"]".
func FieldPaths(fieldsV1 []byte) ([]string, error) {
	var set map[string]any
	if err := json.Unmarshal(fieldsV1, &set); err != nil {
		return nil, fmt.Errorf("managed fields: %w", err)
	}
	var paths []string
	var walk func(prefix string, node map[string]any)
	walk = func(prefix string, node map[string]any) {
		leaf := true
		for key, child := range node {
			if key == "." {
				continue
			}
			leaf = false
			step := fieldStep(key)
			if m, ok := child.(map[string]any); ok && len(m) > 0 {
				walk(prefix+step, m)
			} else {
				paths = append(paths, prefix+step)
			}
		}
		if leaf && prefix != "" {
			paths = append(paths, prefix)
		}
	}
	walk("", set)
	sort.Strings(paths)
	return paths, nil
}

// fieldStep turns one key of a field set into a path step: "f:name" is ".name", `k:{"name":"web"}`
// is `[name="web"]`, `v:"x"` is `[v="x"]`, "i:0" is "[0]".
func fieldStep(key string) string {
	kind, rest, _ := strings.Cut(key, ":")
	switch kind {
	case "f":
		return "." + rest
	case "k":
		var keys map[string]any
		if err := json.Unmarshal([]byte(rest), &keys); err != nil {
			return "[" + rest + "]"
		}
		names := make([]string, 0, len(keys))
		for k := range keys {
			names = append(names, k)
		}
		sort.Strings(names)
		parts := make([]string, len(names))
		for i, k := range names {
			v, _ := json.Marshal(keys[k])
			parts[i] = k + "=" + string(v)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case "v":
		return "[v=" + rest + "]"
	case "i":
		return "[" + rest + "]"
	}
	return "." + key
}
