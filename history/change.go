package history

import (
	"time"
)

// Trigger is why a change happened.
type Trigger string

// Triggers.
const (
	// TriggerPoll: the agent's poll of the Source found a new commit (or the agent started).
	TriggerPoll Trigger = "poll"
	// TriggerWebhook: a webhook push made the agent fetch the Source.
	TriggerWebhook Trigger = "webhook"
	// TriggerManual: someone ran flotilla sync, or asked the API for a sync.
	TriggerManual Trigger = "manual"
	// TriggerDrift: the agent took back a change someone else made to a managed object.
	TriggerDrift Trigger = "drift"
	// TriggerRollback: someone rolled the App × Cluster back to a recorded revision.
	TriggerRollback Trigger = "rollback"
	// TriggerAutoRollback: a revision failed health and the agent put the last healthy one back.
	TriggerAutoRollback Trigger = "auto-rollback"
	// TriggerUnpin: someone let a rolled-back App × Cluster follow Git again (no write).
	TriggerUnpin Trigger = "unpin"
	// TriggerRollout: an App's rollout along its waves moved (started, a wave baked or passed,
	// halted, completed) or someone promoted, aborted or resumed it (no write to a cluster).
	TriggerRollout Trigger = "rollout"
)

// Triggers lists every trigger, for validation and help text.
var Triggers = []Trigger{TriggerPoll, TriggerWebhook, TriggerManual, TriggerDrift, TriggerRollback, TriggerAutoRollback, TriggerUnpin, TriggerRollout}

// Result is how a change ended.
type Result string

// Results. The reconciler's statuses (Synced, Healthy, Progressing, Degraded, Refused, Failed)
// are results too; Interrupted is the ledger's own.
const (
	// ResultRunning: begun, not finished yet.
	ResultRunning Result = "Running"
	// ResultInterrupted: begun and never finished: the process that made it was killed. What it
	// applied is in the cluster's inventory; the next reconcile carries on.
	ResultInterrupted Result = "Interrupted"
)

// Actor is who asked for a change: the OS user of a CLI run, the API token's name, or the
// agent on its own (for polls, webhooks and drift, where the commit's author is the one who
// asked).
type Actor struct {
	// User is the OS user who ran the CLI.
	User string `json:"user,omitempty"`
	// Token is the name of the API token that asked.
	Token string `json:"token,omitempty"`
	// Agent is set when the agent acted on its own.
	Agent bool `json:"agent,omitempty"`
}

// String is "user alice", "token ci", "agent", or "".
func (a Actor) String() string {
	switch {
	case a.Token != "":
		return "token " + a.Token
	case a.User != "":
		return "user " + a.User
	case a.Agent:
		return "agent"
	}
	return ""
}

// Revision is the Git commit a change applied (or a rollback restored).
type Revision struct {
	Source    string `json:"source,omitempty"`
	Ref       string `json:"ref,omitempty"`
	Commit    string `json:"commit"`
	Subject   string `json:"subject,omitempty"`
	Author    string `json:"author,omitempty"`
	Committer string `json:"committer,omitempty"`
	// Signature is the commit's signature check: "verified (openpgp KEY)", "unsigned", ….
	Signature string `json:"signature,omitempty"`
}

// ObjectChange is what a change did to one object.
type ObjectChange struct {
	// Object is Kind/namespace/name (see object.ID).
	Object string `json:"object"`
	// Action is created, configured, unchanged, pruned, skipped or failed.
	Action string `json:"action"`
	// Reason says why it was skipped or failed, or which fields were taken back from whom.
	Reason string `json:"reason,omitempty"`
	// Diff is a unified diff of the object from the revision before to this one, Secret
	// values masked; empty for unchanged objects.
	Diff string `json:"diff,omitempty"`
}

// Change is one change to an App on a cluster, as the ledger holds it.
type Change struct {
	ID       int64     `json:"id"`
	App      string    `json:"app"`
	Cluster  string    `json:"cluster"`
	Trigger  Trigger   `json:"trigger"`
	Actor    Actor     `json:"actor"`
	Revision Revision  `json:"revision"`
	Started  time.Time `json:"started"`
	// Finished is zero while the change runs (or when it was interrupted).
	Finished time.Time `json:"finished,omitzero"`
	// Digest is the render's digest; Snapshot addresses its objects in the snapshot store.
	Digest   string `json:"digest,omitempty"`
	Snapshot string `json:"snapshot,omitempty"`
	// Reason is what the actor gave (a rollback's --reason), or what the agent says (an
	// auto-rollback names the revision that failed).
	Reason string `json:"reason,omitempty"`
	// RestoredFrom is, for a rollback, the change whose snapshot it restored.
	RestoredFrom int64 `json:"restoredFrom,omitempty"`
	// Drift names, for a drift heal, each object someone else changed and who.
	Drift []string `json:"drift,omitempty"`

	Result  Result         `json:"result"`
	Error   string         `json:"error,omitempty"`
	Objects []ObjectChange `json:"objects,omitempty"`
	// Warnings are what the guard found that did not stop the change (the mesh guardrails').
	Warnings []string `json:"warnings,omitempty"`
}

// Writes counts the objects the change created, configured or pruned.
func (c *Change) Writes() int {
	n := 0
	for _, o := range c.Objects {
		switch o.Action {
		case "created", "configured", "pruned":
			n++
		}
	}
	return n
}

// Filter selects changes. Zero fields select everything.
type Filter struct {
	App, Cluster string
	// Since and Until bound the start time.
	Since, Until time.Time
	// Author matches the commit's author or committer, or the actor, by substring.
	Author string
	// Revision matches a commit by prefix.
	Revision string
	Trigger  Trigger
	// Limit bounds how many changes come back, newest first (0: 100).
	Limit int
}
