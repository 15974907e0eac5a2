// Package reconciler runs the loop: for every App × selected Cluster it compares the desired
// state (a rendered revision) with the live state, plans, guards, applies, checks health and
// records the outcome, with queueing, retries, drift handling and rollback.
package reconciler
