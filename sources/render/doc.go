// Package render builds a kustomization in-process with sigs.k8s.io/kustomize/api, confined to
// one repository view (package tree): no reads outside it, no remote bases unless the Source
// allows them, no plugins, no exec or container functions.
//
// It takes a tree.FS and a folder and returns Manifests: the objects in apply order (CRDs,
// Namespaces, other cluster-scoped objects, then namespaced ones; kustomize's order within each
// group), each checked for apiVersion, kind and name, no two with the same ID, and a sha256
// digest of their canonical form.
package render
