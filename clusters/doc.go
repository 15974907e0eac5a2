// Package clusters owns everything that talks to a target cluster: the registry of clusters
// and their clients, server-side apply, dry-run diff, the inventory of what Flotilla manages,
// prune, health and watches for drift.
//
// It takes the Manifests that sources renders and returns, per cluster, a Plan and a Result.
// The subpackage localfleet starts real local clusters for tests and the quickstart.
package clusters
