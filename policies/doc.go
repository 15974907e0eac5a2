// Package policies holds pure decisions, with no I/O: cluster selectors, sync windows
// (robfig/cron), rollout waves, the prune guard and Istio mesh checks. Each function takes
// what it judges and returns a verdict with reasons.
package policies
