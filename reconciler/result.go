package reconciler

import (
	"errors"
	"fmt"
	"strings"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/policies"
)

// Status is how one App on one cluster came out of a reconcile.
type Status string

// Statuses.
const (
	// StatusSynced: applied (and pruned); health not waited for.
	StatusSynced Status = "Synced"
	// StatusHealthy: synced, and every object became healthy.
	StatusHealthy Status = "Healthy"
	// StatusProgressing: synced, but not every object was healthy when the wait ended.
	StatusProgressing Status = "Progressing"
	// StatusDegraded: synced, and an object failed (e.g. ProgressDeadlineExceeded).
	StatusDegraded Status = "Degraded"
	// StatusRefused: a guard refused the render (empty) or what it would prune; nothing was
	// applied or pruned, and the error says why and how to go ahead.
	StatusRefused Status = "Refused"
	// StatusHeld: a sync window holds the App on this cluster (inside a deny window, or outside
	// every allow window); nothing was applied, and the error says until when.
	StatusHeld Status = "Held"
	// StatusFailed: fetching, rendering, checking, connecting or applying failed.
	StatusFailed Status = "Failed"
	// StatusPlanned: a dry run; nothing was written.
	StatusPlanned Status = "Planned"
)

// statusOf is the status a stage's error leads to: Refused for a guard's refusal, Failed for
// anything else.
func statusOf(err error) Status {
	var refusal *policies.RefusalError
	if errors.As(err, &refusal) {
		return StatusRefused
	}
	var held *policies.HeldError
	if errors.As(err, &held) {
		return StatusHeld
	}
	return StatusFailed
}

// Result is what a reconcile of one App on one cluster did.
type Result struct {
	App     string                  `json:"app"`
	Cluster string                  `json:"cluster"`
	Commit  string                  `json:"commit,omitempty"`
	Digest  string                  `json:"digest,omitempty"`
	Status  Status                  `json:"status"`
	Changes clusters.ChangeSet      `json:"changes,omitempty"`
	Health  []clusters.ObjectHealth `json:"health,omitempty"`
	// Error is Err's message, for output; Err is the error itself, for errors.As (a
	// *policies.RefusalError, a *clusters.ApplyError, ...).
	Error string `json:"error,omitempty"`
	Err   error  `json:"-"`
	// Warnings are what the guard found worth saying that does not stop the sync (the mesh
	// guardrails' warnings, with their files), one line each.
	Warnings []string        `json:"warnings,omitempty"`
	Duration config.Duration `json:"duration"`
	// Change is the change's ID in the ledger (0: not recorded).
	Change int64 `json:"change,omitempty"`
	// Pinned is the pin that holds the pair on a rolled-back revision, when one does.
	Pinned *history.Pin `json:"pinned,omitempty"`
	// AutoRollback is the rollback that followed when this revision failed health and the App
	// asks for it (spec.health.autoRollback).
	AutoRollback *Result `json:"autoRollback,omitempty"`
	// Window is what the App's sync windows said, when it has some (and this was no dry run).
	Window *policies.WindowDecision `json:"window,omitempty"`
}

// Writes counts the objects the reconcile wrote: created, configured and pruned (in a dry run,
// those it would write).
func (r Result) Writes() int {
	return r.Changes.Count(clusters.ActionCreated) + r.Changes.Count(clusters.ActionConfigured) + r.Changes.Count(clusters.ActionPruned)
}

// summary is " (3 created, 1 configured, …)" and the error, for a progress line.
func (r Result) summary() string {
	s := ""
	for _, a := range []clusters.Action{clusters.ActionCreated, clusters.ActionConfigured, clusters.ActionUnchanged, clusters.ActionPruned, clusters.ActionSkipped, clusters.ActionFailed} {
		if n := r.Changes.Count(a); n > 0 {
			s += fmt.Sprintf(", %d %s", n, a)
		}
	}
	if s != "" {
		s = " (" + s[2:] + ")"
	}
	if r.Error != "" {
		s += ": " + strings.TrimPrefix(r.Error, "refused: ") // the status says it already
	}
	return s
}
