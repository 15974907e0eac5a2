// Package render builds a kustomization in-process with sigs.k8s.io/kustomize/api, confined to
// one repository view (package tree): no reads outside it, no plugins, no exec or container
// functions, and no network: every kustomization is checked before kustomize runs, and a
// remote reference is refused unless the Source allows remote bases, in which case Flotilla
// fetches it (package remote, under a timeout, byte limits and an address policy) and kustomize
// reads it from the view (remote.go). A render ends as soon as its context does: kustomize
// cannot be interrupted, so it runs on a goroutine of its own and the view refuses its next
// read.
//
// It takes a tree.FS and a folder and returns Manifests: the objects in apply order (CRDs,
// Namespaces, other cluster-scoped objects, then namespaced ones; kustomize's order within each
// group), each checked for apiVersion, kind and name, no two with the same ID, and a sha256
// digest of their canonical form.
//
// For error messages only, Origins renders once more with kustomize's origin tracking and tells
// where each object came from: its file, and the patches of the render's kustomizations that
// apply to it (read by Flotilla from the kustomizations: kustomize records no patch file), so
// that a field a patch set is blamed on the patch (origin.go, patches.go, fieldpath.go).
// Rendered Manifests never carry tracking annotations.
package render
