// Package policies holds pure decisions, with no I/O: which clusters an App's selector picks
// (selector.go) and what the prune guard allows (pruneguard.go). Each function takes what it
// judges and returns a verdict with reasons; the reconciler's guard stage asks them.
package policies
