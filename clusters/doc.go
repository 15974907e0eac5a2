// Package clusters owns everything that talks to a target cluster: the registry of clusters
// and their clients, server-side apply, dry-run diff, the inventory of what Flotilla manages,
// prune, health and watches for drift.
//
// It takes the objects that sources renders for one cluster and answers with what is live,
// what applying them changed (a ChangeSet), what was pruned, the next Inventory and health.
// The subpackage localfleet starts real local clusters for tests and the quickstart.
package clusters
