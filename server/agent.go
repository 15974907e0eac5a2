package server

import (
	"context"
	"errors"
	"time"

	"github.com/flotilla-dev/flotilla/sources/webhook"
)

// Agent is what the server asks of the running agent. The server owns this interface; the
// reconciler's agent implements it. Every method must be safe for concurrent use: requests are
// served in parallel.
type Agent interface {
	// Apps returns every App, sorted by name.
	Apps() []AppStatus
	// App returns one App by name, and false if there is none.
	App(name string) (AppStatus, bool)
	// Sync queues a sync of an App (on one cluster, or on every cluster it selects when
	// req.Cluster is empty) and returns what it queued; an error wrapping ErrNotFound for an
	// unknown App or cluster.
	Sync(ctx context.Context, req SyncRequest) (SyncAccepted, error)
	// Rollback rolls the App back to a revision its ledger recorded (on req.Cluster, or on
	// every cluster it selects, one after the other), waits until each rollback is over, its
	// wait for health included, and returns one result per cluster, sorted by cluster: a
	// rollback that failed or was refused shows in its result. An error wrapping ErrNotFound for
	// an unknown App or cluster.
	Rollback(ctx context.Context, req RollbackRequest) ([]RollbackResult, error)
	// Unpin lets the App follow Git again (on req.Cluster, or on every cluster it selects) and
	// returns the clusters it was pinned on, whose sync it queued. An error wrapping ErrNotFound
	// for an unknown App or cluster, ErrNotPinned when it was pinned on none of them.
	Unpin(ctx context.Context, req UnpinRequest) ([]string, error)
	// Refresh queues a fetch of the Source; an error wrapping ErrNotFound if there is none.
	Refresh(ctx context.Context, source string) error
	// Push queues a fetch of each Source a webhook push concerns and returns their names
	// (none when no Source matches). What gets applied is always what Git says after the
	// fetch, never what the payload says.
	Push(ctx context.Context, push webhook.Push) (sources []string)
	// Ready reports whether every cluster has been listed once.
	Ready() bool
	// ConfigError is why the last reload of the configuration was refused ("" when it was
	// not): the agent runs on the configuration it had.
	ConfigError() string
}

// ErrNotFound is what Agent.Sync, Rollback, Unpin and Refresh wrap for an App, cluster or
// Source that the configuration does not define.
var ErrNotFound = errors.New("not found")

// ErrNotPinned is what Agent.Unpin wraps when the App is pinned on none of the clusters asked.
var ErrNotPinned = errors.New("not pinned")

// SyncRequest asks for a sync of one App, with the options of `flotilla sync`'s flags.
type SyncRequest struct {
	// App is the App's name.
	App string `json:"app"`
	// Cluster limits the sync to one cluster; empty means every cluster the App selects.
	Cluster string `json:"cluster,omitempty"`
	// ForceConflicts takes back fields another manager owns (--force-conflicts).
	ForceConflicts bool `json:"forceConflicts,omitempty"`
	// ConfirmPrune lets a prune the prune guard refused go ahead (--confirm-prune).
	ConfirmPrune bool `json:"confirmPrune,omitempty"`
	// DryRun plans without writing (--dry-run).
	DryRun bool `json:"dryRun,omitempty"`
	// OverrideWindow syncs even when a sync window holds the App (--override-window); the
	// ledger records the override.
	OverrideWindow bool `json:"overrideWindow,omitempty"`
	// TokenName is the name of the API token that asked: the ledger records it as the actor.
	TokenName string `json:"tokenName,omitempty"`
}

// RollbackRequest asks for a rollback of one App, with the options of `flotilla rollback`'s
// flags: exactly one of To and Steps.
type RollbackRequest struct {
	// App is the App's name.
	App string `json:"app"`
	// Cluster limits the rollback to one cluster; empty means every cluster the App selects.
	Cluster string `json:"cluster,omitempty"`
	// To is a commit, or the first digits of one, that the ledger recorded as applied.
	To string `json:"to,omitempty"`
	// Steps counts revisions back from the one applied now (1: the one before).
	Steps int `json:"steps,omitempty"`
	// Reason is recorded with the change.
	Reason string `json:"reason,omitempty"`
	// ForceConflicts and ConfirmPrune are as in a sync: take back fields other managers own,
	// and prune past the prune guard.
	ForceConflicts bool `json:"forceConflicts,omitempty"`
	ConfirmPrune   bool `json:"confirmPrune,omitempty"`
	// TokenName is the name of the API token that asked: the ledger records it as the actor.
	TokenName string `json:"tokenName,omitempty"`
}

// RollbackResult is how the rollback of an App on one cluster ended.
type RollbackResult struct {
	// Cluster is the cluster's name.
	Cluster string `json:"cluster"`
	// Status is the reconcile's: Healthy, Progressing, Degraded or Synced once the revision is
	// back (Degraded and Progressing: it did not become healthy in time), Refused when a guard
	// refused it (nothing was written), Failed.
	Status string `json:"status"`
	// Revision is the commit restored (empty when the rollback failed before it read one).
	Revision string `json:"revision,omitempty"`
	// Change is the rollback's ID in the ledger (0: not recorded).
	Change int64 `json:"change,omitempty"`
	// Pinned is the pin that now holds the App on Revision: until a commit other than
	// Pinned.Until arrives, or someone unpins it. Nil when the rollback failed or was refused.
	Pinned *Pin `json:"pinned,omitempty"`
	// Error says what failed, or what kept the pin from being kept.
	Error string `json:"error,omitempty"`
	// Duration is how long the rollback took, as a Go duration ("1.2s").
	Duration string `json:"duration,omitempty"`
}

// RollbackDone is the answer to a rollback request: each cluster's result.
type RollbackDone struct {
	App     string           `json:"app"`
	Results []RollbackResult `json:"results"`
}

// UnpinRequest asks to let one App follow Git again.
type UnpinRequest struct {
	// App is the App's name.
	App string `json:"app"`
	// Cluster limits the unpin to one cluster; empty means every cluster the App selects.
	Cluster string `json:"cluster,omitempty"`
	// TokenName is the name of the API token that asked: the ledger records it as the actor.
	TokenName string `json:"tokenName,omitempty"`
}

// UnpinDone is the answer to an unpin request: the clusters the App was pinned on, which now
// follow Git again (a sync of each is queued).
type UnpinDone struct {
	App      string   `json:"app"`
	Clusters []string `json:"clusters"`
}

// SyncAccepted is what a sync request queued: the App and the clusters it will be synced on.
type SyncAccepted struct {
	// App is the App's name.
	App string `json:"app"`
	// Clusters are the clusters a sync was queued for.
	Clusters []string `json:"clusters"`
	// Accepted is when the agent queued it, by the agent's clock: the sync asked for is the
	// first reconcile of each cluster that starts at or after it (one under way then is not).
	Accepted time.Time `json:"accepted,omitzero"`
}

// AppStatus is an App and its state on each cluster it selects.
type AppStatus struct {
	// Name is the App's name.
	Name string `json:"name"`
	// Source is the name of the App's Source.
	Source string `json:"source"`
	// Automated is the App's spec.sync.automated: whether the agent applies new revisions by
	// itself or only reports them (OutOfSync).
	Automated bool `json:"automated"`
	// Clusters is the App's state on each cluster it selects, sorted by cluster name.
	Clusters []ClusterStatus `json:"clusters"`
}

// The states a ClusterStatus reports.
const (
	StateSynced    = "Synced"
	StateOutOfSync = "OutOfSync"
	StateDrifted   = "Drifted"
	StateFighting  = "Fighting"
	StateFailed    = "Failed"
	StateRefused   = "Refused"
	StateHeld      = "Held"
	StateUnknown   = "Unknown"
)

// ClusterStatus is one App's state on one cluster.
type ClusterStatus struct {
	// Cluster is the cluster's name.
	Cluster string `json:"cluster"`
	// WantedRevision is the commit Git says the App should be at.
	WantedRevision string `json:"wantedRevision"`
	// AppliedRevision is the commit last applied to the cluster.
	AppliedRevision string `json:"appliedRevision"`
	// State is one of Synced, OutOfSync, Drifted, Fighting, Failed, Refused, Unknown.
	State string `json:"state"`
	// Health is the App's health on the cluster (Healthy, Progressing, Degraded, …).
	Health string `json:"health"`
	// LastStarted is when the last sync started, by the agent's clock (left out before the
	// first one): the sync a request asked for is the first that started at or after
	// SyncAccepted.Accepted.
	LastStarted time.Time `json:"lastStarted,omitzero"`
	// LastSync is when the last sync ended; zero (and left out) before the first one.
	LastSync time.Time `json:"lastSync,omitzero"`
	// LastDuration is how long the last sync took, as a Go duration ("1.2s").
	LastDuration string `json:"lastDuration"`
	// LastError is the last sync's error, if it failed or was refused.
	LastError string `json:"lastError,omitempty"`
	// Drifted lists the objects someone else changed since the last sync.
	Drifted []DriftedObject `json:"drifted,omitempty"`
	// Writes is how many objects the last sync wrote.
	Writes int `json:"writes"`
	// Change is the ledger's ID of the last change recorded (flotilla history show ID).
	Change int64 `json:"change,omitempty"`
	// Pinned is set while a rollback holds the App on a recorded revision.
	Pinned *Pin `json:"pinned,omitempty"`
}

// Pin holds an App on a cluster at a rolled-back revision until a commit other than Until
// arrives, or someone unpins it.
type Pin struct {
	// Revision and Subject are the commit restored; Change the rollback that pinned it.
	Revision string `json:"revision"`
	Subject  string `json:"subject,omitempty"`
	Change   int64  `json:"change"`
	// Until is the Source's commit when it was pinned: any other commit lifts the pin.
	Until string `json:"until"`
	// Auto says the agent rolled back because Until failed health.
	Auto   bool      `json:"auto,omitempty"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since"`
}

// DriftedObject is a managed object someone else changed.
type DriftedObject struct {
	// ID is the object, Kind/namespace/name.
	ID string `json:"id"`
	// Manager is the field manager that made the change (kubectl-edit, an HPA, …).
	Manager string `json:"manager"`
	// Fields are the fields the manager took (".data.value"), when known.
	Fields []string `json:"fields,omitempty"`
	// Deleted is set when the object was deleted.
	Deleted bool `json:"deleted"`
	// Seen is when the change was noticed.
	Seen time.Time `json:"seen"`
}
