package clusters

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/flotilla-dev/flotilla/sources/render"
)

// DesiredIDs returns, in order, the IDs that the rendered objects will have in the cluster, before anything
// is applied: namespaced objects without a namespace go to "default", and a cluster-scoped
// object's namespace is dropped. Kinds the cluster does not serve yet take their scope from the
// CRDs among objs; others keep the ID the render gives them (applying them will fail).
func (m *Manager) DesiredIDs(objs []*unstructured.Unstructured) []render.ObjectID {
	crdScoped := render.CRDKinds(objs)
	ids := make([]render.ObjectID, 0, len(objs))
	for _, obj := range objs {
		id := render.IDOf(obj)
		gvk := obj.GroupVersionKind()
		if mapping, err := m.target.mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err == nil {
			id.Namespace = namespaceIn(obj, mapping.Scope.Name() == meta.RESTScopeNameNamespace)
		} else if clusterScoped, declared := crdScoped[gvk.GroupKind()]; declared {
			id.Namespace = namespaceIn(obj, !clusterScoped)
		}
		ids = append(ids, id)
	}
	return ids
}

// namespaceIn is the namespace that the cluster stores obj in, given whether its kind is
// namespaced.
func namespaceIn(obj *unstructured.Unstructured, namespaced bool) string {
	switch {
	case !namespaced:
		return ""
	case obj.GetNamespace() == "":
		return metav1.NamespaceDefault
	}
	return obj.GetNamespace()
}
