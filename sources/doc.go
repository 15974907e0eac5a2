// Package sources turns a Git repository into verified revisions and rendered manifests: it
// fetches with go-git (auth, refs, incremental fetch, history-rewrite detection), checks commit
// signatures, and renders kustomizations per App × Cluster, confined to the checkout.
//
// It takes a Source from the config and returns a Revision and, per cluster, Manifests: the
// objects in apply order with their digest.
package sources
