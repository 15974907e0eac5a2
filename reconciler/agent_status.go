package reconciler

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/internal/object"
)

// SyncState is where an App × Cluster stands, as the agent reports it.
type SyncState string

// Sync states.
const (
	// StateUnknown: not reconciled yet since the agent started.
	StateUnknown SyncState = "Unknown"
	// StateSynced: the cluster holds what Git says.
	StateSynced SyncState = "Synced"
	// StateOutOfSync: Git changed and the App does not sync on its own.
	StateOutOfSync SyncState = "OutOfSync"
	// StateDrifted: someone changed a managed object and the App's drift mode only warns.
	StateDrifted SyncState = "Drifted"
	// StateFailed: the last reconcile failed (it is retried with backoff).
	StateFailed SyncState = "Failed"
	// StateRefused: a guard refused the last reconcile (nothing was applied).
	StateRefused SyncState = "Refused"
	// StateHeld: a sync window holds the pair (LastError says which, until when); drift is
	// still watched and reported.
	StateHeld SyncState = "Held"
	// StateWaiting: the App rolls out in waves and the pair's wave has not come (or the
	// rollout halted or was aborted): it stays on the revision it runs, drift still healed
	// toward it; Rollout says what it waits for.
	StateWaiting SyncState = "Waiting"
)

// PairStatus is what the agent knows of one App on one cluster.
type PairStatus struct {
	App     string    `json:"app"`
	Cluster string    `json:"cluster"`
	State   SyncState `json:"state"`
	// WantedRevision is the commit Git asks for; AppliedRevision the last one synced.
	WantedRevision  string `json:"wantedRevision,omitempty"`
	AppliedRevision string `json:"appliedRevision,omitempty"`
	// LastStarted is when the last reconcile started (by the agent's clock).
	LastStarted time.Time `json:"lastStarted,omitzero"`
	// LastSync is when the last reconcile ended, LastDuration how long it took.
	LastSync     time.Time     `json:"lastSync,omitzero"`
	LastDuration time.Duration `json:"lastDuration,omitempty"`
	// Writes counts the objects the last reconcile wrote (created, configured, pruned), or,
	// for a comparison, would write.
	Writes    int    `json:"writes"`
	LastError string `json:"lastError,omitempty"`
	// Drifted are objects someone changed that were not healed (drift mode warn, a window
	// holds the pair, or another manager fights over them: state Fighting).
	Drifted []DriftedObject `json:"drifted,omitempty"`
	// Health is what the last wait for health found (Healthy, Progressing, Degraded): the
	// reconcile's own wait for an App that waits (autoRollback, waves), the agent's check in
	// the background for the others (followHealth); "" until known.
	Health string `json:"health,omitempty"`
	// generation counts the pair's reconciles, so that a health check of an earlier one does
	// not overwrite what a later one found.
	generation int
	// Change is the ledger's ID of the last change recorded for the pair.
	Change int64 `json:"change,omitempty"`
	// Pinned holds the pair on a rolled-back revision until a newer commit or an unpin.
	Pinned *history.Pin `json:"pinned,omitempty"`
	// Rollout says where the App's rollout along its waves stands for the pair ("wave canary
	// baking until T", "held: wave prod waits for staging (…)", "halted in wave staging: …").
	Rollout string `json:"rollout,omitempty"`
}

// inWave completes the status with what the rollout said of the pair (nothing for an App
// without waves): a pair that may not run the target yet is Waiting for it.
func (st *PairStatus) inWave(w waveNote) {
	st.Rollout = w.reason
	if w.waiting && st.State == StateSynced {
		st.State, st.WantedRevision = StateWaiting, w.target
	}
}

// DriftedObject is a managed object that someone other than Flotilla changed.
type DriftedObject struct {
	ID      object.ID `json:"id"`
	Manager string    `json:"manager,omitempty"`
	// Fields are the fields the manager took (".data.value"), when known.
	Fields  []string  `json:"fields,omitempty"`
	Deleted bool      `json:"deleted,omitempty"`
	Seen    time.Time `json:"seen"`
}

// reconciled updates the status with a reconcile's result; compared says it was a dry run.
func (st *PairStatus) reconciled(r Result, compared bool) {
	if rb := r.AutoRollback; rb != nil {
		// What the cluster runs is what the rollback left; say what happened first.
		failed := fmt.Sprintf("revision %s was %s and was rolled back to %s (change %d)", short(r.Commit), r.Status, short(rb.Commit), rb.Change)
		if r.Error != "" {
			failed += ": " + r.Error
		}
		r = *rb
		r.Error = strings.TrimSuffix(failed+"; "+r.Error, "; ")
	}
	st.LastSync, st.LastDuration, st.LastError = time.Now(), r.Duration.Duration, r.Error
	st.WantedRevision, st.Pinned = r.Commit, r.Pinned
	if r.Pinned != nil {
		st.WantedRevision = r.Pinned.Head
	}
	if r.Change != 0 {
		st.Change = r.Change
	}
	switch r.Status {
	case StatusHealthy, StatusProgressing, StatusDegraded:
		st.Health = string(r.Status)
	case StatusSynced:
		if r.Writes() > 0 {
			st.Health = "" // until the agent's health check says (followHealth)
		}
	}
	st.generation++
	st.Writes = r.Writes()
	switch {
	case r.Status == StatusFailed:
		st.State = StateFailed
	case r.Status == StatusRefused:
		st.State = StateRefused
	case r.Status == StatusHeld:
		st.State = StateHeld
	case compared && st.Writes > 0:
		st.State = StateOutOfSync
	default:
		st.State = StateSynced
		st.Drifted = nil
		if !compared {
			st.AppliedRevision = r.Commit
		}
	}
}

// failed records an error that kept the pair from being reconciled.
func (st *PairStatus) failed(err error) {
	st.State, st.LastError, st.LastSync = StateFailed, err.Error(), time.Now()
}

// setStatus changes one pair's status under the lock.
func (a *Agent) setStatus(key string, change func(*PairStatus)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if st := a.status[key]; st != nil {
		change(st)
	}
}

// Status returns every pair's status, by App then cluster. A Source whose last fetch failed
// shows its error on its pairs (their state is what their last reconcile left).
func (a *Agent) Status() []PairStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]PairStatus, 0, len(a.status))
	for key, st := range a.status {
		s := *st
		s.Drifted = make([]DriftedObject, len(st.Drifted))
		for i, d := range st.Drifted {
			d.Fields = slices.Clone(d.Fields)
			s.Drifted[i] = d
		}
		if pair, ok := a.pairs[key]; ok {
			if err := a.sourceErrors[pair.App.Spec.Source]; err != "" && s.LastError == "" {
				s.LastError = err
			}
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].App != out[j].App {
			return out[i].App < out[j].App
		}
		return out[i].Cluster < out[j].Cluster
	})
	return out
}

// ReloadError is why the last configuration reload was refused, "" if it was not.
func (a *Agent) ReloadError() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reloadErr
}

// Ready reports whether the agent has reconciled (or compared) every pair once since it started
// and every cluster's drift watch has listed what it watches once.
func (a *Agent) Ready() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, st := range a.status {
		if st.State == StateUnknown {
			return false
		}
	}
	return a.drift.synced()
}

// QueueDepth is how many pairs wait to be reconciled.
func (a *Agent) QueueDepth() int { return a.queue.Len() }
