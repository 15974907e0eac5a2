// Package policies holds pure decisions, with no I/O: which clusters an App's selector picks
// (selector.go), what the prune guard allows (pruneguard.go), whether sync windows hold a sync
// (windows.go) and how a rollout moves along its waves (rollout.go). Each function takes what it
// judges and returns a verdict with reasons; the reconciler's guard stage asks them.
package policies
