package clusters

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/sources/render"
)

// DesiredIDs returns, in order, the IDs that the rendered objects will have in the cluster, before anything
// is applied: namespaced objects without a namespace go to the App's (m.Namespace, else
// "default"), and a cluster-scoped
// object's namespace is dropped. Kinds that a CRD among objs defines take their scope from it
// (the cluster may not serve them yet); kinds the cluster does not serve keep the ID the render
// gives them (applying them will fail).
func (m *Manager) DesiredIDs(objs []*unstructured.Unstructured) []object.ID {
	crdScoped := render.CRDKinds(objs)
	namespaced := map[schema.GroupVersionKind]*bool{} // nil: scope unknown
	ids := make([]object.ID, 0, len(objs))
	for _, obj := range objs {
		id := object.IDOf(obj)
		gvk := obj.GroupVersionKind()
		scope, looked := namespaced[gvk]
		if !looked {
			if clusterScoped, declared := crdScoped[gvk.GroupKind()]; declared {
				scope = ptr(!clusterScoped)
			} else if mapping, err := m.target.mapping(gvk); err == nil {
				scope = ptr(mapping.Scope.Name() == meta.RESTScopeNameNamespace)
			}
			namespaced[gvk] = scope
		}
		if scope != nil {
			id.Namespace = m.namespaceIn(obj, *scope)
		}
		ids = append(ids, id)
	}
	return ids
}

func ptr[T any](v T) *T { return &v }

// namespaceIn is the namespace that the cluster stores obj in, given whether its kind is
// namespaced: its own, or the App's default namespace.
func (m *Manager) namespaceIn(obj *unstructured.Unstructured, namespaced bool) string {
	switch {
	case !namespaced:
		return ""
	case obj.GetNamespace() != "":
		return obj.GetNamespace()
	case m.Namespace != "":
		return m.Namespace
	}
	return metav1.NamespaceDefault
}
