package clusters

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	fieldsel "k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/flotilla-dev/flotilla/internal/object"
)

// Lookup is one LIST of what a cluster holds of a kind: in a namespace ("" for all of them),
// optionally only the objects of one name (a field selector), as metadata unless Full.
type Lookup struct {
	GroupKind schema.GroupKind
	Namespace string
	Name      string
	// Full asks for whole objects (their specs); otherwise only names are read, so that a
	// lookup of Secrets never reads their values.
	Full bool
}

// LookupResult is what one Lookup found.
type LookupResult struct {
	Lookup Lookup
	// IDs name the objects found; Objects are the objects themselves, for a Full lookup.
	IDs     []object.ID
	Objects []*unstructured.Unstructured
	// Err is why the LIST failed; a kind the cluster does not serve holds nothing and is no
	// error.
	Err error
}

// LookupAll makes the lookups, a few at a time, and returns their results in the same order.
func (t *Target) LookupAll(ctx context.Context, lookups []Lookup) []LookupResult {
	results := make([]LookupResult, len(lookups))
	forEach(len(lookups), 4, func(i int) {
		results[i] = t.lookup(ctx, lookups[i])
	})
	return results
}

func (t *Target) lookup(ctx context.Context, l Lookup) LookupResult {
	res := LookupResult{Lookup: l}
	mapping, err := t.mapping(schema.GroupVersionKind{Group: l.GroupKind.Group, Kind: l.GroupKind.Kind})
	switch {
	case meta.IsNoMatchError(err):
		return res // not served: none exists
	case err != nil:
		res.Err = fmt.Errorf("%s: %w", l.GroupKind, err)
		return res
	}
	opts := metav1.ListOptions{}
	if l.Name != "" {
		opts.FieldSelector = fieldsel.OneTermEqualSelector("metadata.name", l.Name).String()
	}
	id := func(namespace, name string) object.ID {
		return object.ID{Group: l.GroupKind.Group, Kind: l.GroupKind.Kind, Namespace: namespace, Name: name}
	}
	if l.Full {
		list, err := t.dynamic.Resource(mapping.Resource).Namespace(l.Namespace).List(ctx, opts)
		if err != nil {
			res.Err = fmt.Errorf("list %s: %w", mapping.Resource.Resource, err)
			return res
		}
		for i := range list.Items {
			if list.Items[i].GetKind() == "" {
				list.Items[i].SetGroupVersionKind(mapping.GroupVersionKind)
			}
			res.Objects = append(res.Objects, &list.Items[i])
			res.IDs = append(res.IDs, id(list.Items[i].GetNamespace(), list.Items[i].GetName()))
		}
		return res
	}
	list, err := t.metadata.Resource(mapping.Resource).Namespace(l.Namespace).List(ctx, opts)
	if err != nil {
		res.Err = fmt.Errorf("list %s: %w", mapping.Resource.Resource, err)
		return res
	}
	for _, item := range list.Items {
		res.IDs = append(res.IDs, id(item.Namespace, item.Name))
	}
	return res
}
