package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/reconciler"
	"github.com/flotilla-dev/flotilla/sources/webhook"
)

// ReconcilerAgent answers the server's questions from a running reconciler.Agent.
func ReconcilerAgent(a *reconciler.Agent) Agent { return agentAPI{a} }

// agentAPI adapts a reconciler.Agent to Agent.
type agentAPI struct{ agent *reconciler.Agent }

// Apps are every App of the configuration with its pairs' status.
func (a agentAPI) Apps() []AppStatus {
	cfg := a.agent.Config()
	byApp := map[string][]ClusterStatus{}
	for _, st := range a.agent.Status() {
		byApp[st.App] = append(byApp[st.App], clusterStatus(st))
	}
	apps := make([]AppStatus, 0, len(cfg.Apps))
	for _, app := range cfg.Apps {
		apps = append(apps, AppStatus{
			Name: app.Metadata.Name, Source: app.Spec.Source, Automated: app.Spec.Sync.Automated,
			Clusters: byApp[app.Metadata.Name],
		})
	}
	return apps
}

// App is one App's status.
func (a agentAPI) App(name string) (AppStatus, bool) {
	for _, app := range a.Apps() {
		if app.Name == name {
			return app, true
		}
	}
	return AppStatus{}, false
}

// Sync queues a sync someone asked for.
func (a agentAPI) Sync(_ context.Context, req SyncRequest) (SyncAccepted, error) {
	opts := reconciler.Options{ForceConflicts: req.ForceConflicts, ConfirmPrune: req.ConfirmPrune, DryRun: req.DryRun, OverrideWindow: req.OverrideWindow,
		Cause: reconciler.Cause{Actor: history.Actor{Token: req.TokenName}}}
	accepted := time.Now()
	queued, err := a.agent.RequestSync(req.App, req.Cluster, opts)
	if err != nil {
		return SyncAccepted{}, notFound(err)
	}
	return SyncAccepted{App: req.App, Clusters: queued, Accepted: accepted}, nil
}

// Rollback rolls the App back on its clusters, one after the other, recorded as asked by the
// request's token.
func (a agentAPI) Rollback(ctx context.Context, req RollbackRequest) ([]RollbackResult, error) {
	results, err := a.agent.Rollback(ctx, req.App, req.Cluster, reconciler.RollbackOptions{
		To: req.To, Steps: req.Steps, Reason: req.Reason, Actor: history.Actor{Token: req.TokenName},
		ForceConflicts: req.ForceConflicts, ConfirmPrune: req.ConfirmPrune})
	if err != nil {
		return nil, notFound(err)
	}
	out := make([]RollbackResult, len(results))
	for i, r := range results {
		out[i] = RollbackResultOf(r)
	}
	return out, nil
}

// RollbackResultOf is the API's view of the result of a reconciler's rollback.
func RollbackResultOf(r reconciler.Result) RollbackResult {
	out := RollbackResult{Cluster: r.Cluster, Status: string(r.Status), Revision: r.Commit, Change: r.Change,
		Pinned: pinOf(r.Pinned), Error: r.Error}
	if r.Duration.Duration > 0 {
		out.Duration = r.Duration.String()
	}
	return out
}

// Unpin lets the App follow Git again, recorded as asked by the request's token.
func (a agentAPI) Unpin(ctx context.Context, req UnpinRequest) ([]string, error) {
	clusters, err := a.agent.Unpin(ctx, req.App, req.Cluster, history.Actor{Token: req.TokenName})
	if errors.Is(err, reconciler.ErrNotPinned) {
		return nil, fmt.Errorf("%w: %w", ErrNotPinned, err)
	}
	if err != nil {
		return clusters, notFound(err)
	}
	return clusters, nil
}

// Refresh queues a fetch of the Source.
func (a agentAPI) Refresh(_ context.Context, source string) error {
	return notFound(a.agent.Refresh(source))
}

// Push queues a fetch of the Sources the push concerns.
func (a agentAPI) Push(_ context.Context, push webhook.Push) []string { return a.agent.Push(push) }

// Ready reports whether the agent reconciled every pair once.
func (a agentAPI) Ready() bool { return a.agent.Ready() }

// ConfigError is why the agent refused its last configuration reload.
func (a agentAPI) ConfigError() string { return a.agent.ReloadError() }

// notFound makes the agent's "not configured" the server's "not found".
func notFound(err error) error {
	if errors.Is(err, reconciler.ErrNotConfigured) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

func clusterStatus(st reconciler.PairStatus) ClusterStatus {
	out := ClusterStatus{
		Cluster: st.Cluster, WantedRevision: st.WantedRevision, AppliedRevision: st.AppliedRevision,
		State: string(st.State), Health: "Unknown", LastStarted: st.LastStarted, LastSync: st.LastSync, LastError: st.LastError, Writes: st.Writes,
	}
	if st.Health != "" {
		out.Health = st.Health
	}
	out.Pinned = pinOf(st.Pinned)
	out.Change = st.Change
	if st.LastDuration > 0 {
		out.LastDuration = st.LastDuration.String()
	}
	for _, d := range st.Drifted {
		out.Drifted = append(out.Drifted, DriftedObject{ID: d.ID.String(), Manager: d.Manager, Fields: d.Fields, Deleted: d.Deleted, Seen: d.Seen})
	}
	return out
}

// pinOf is the API's view of a ledger's pin; nil for nil.
func pinOf(p *history.Pin) *Pin {
	if p == nil {
		return nil
	}
	return &Pin{Revision: p.Revision.Commit, Subject: p.Revision.Subject, Change: p.Change, Until: p.Head, Auto: p.Auto, Reason: p.Reason, Since: p.Since}
}

// Rollout says where the App's rollout stands, after the request's verb, recorded as asked by
// the request's token.
func (a agentAPI) Rollout(ctx context.Context, req RolloutRequest) (any, error) {
	actor := history.Actor{Token: req.TokenName}
	var st reconciler.RolloutStatus
	var err error
	switch req.Verb {
	case "":
		st, err = a.agent.Rollout(ctx, req.App)
	case "promote":
		st, err = a.agent.PromoteRollout(ctx, req.App, actor)
	case "abort":
		st, err = a.agent.AbortRollout(ctx, req.App, actor)
	case "resume":
		st, err = a.agent.ResumeRollout(ctx, req.App, actor)
	default:
		return nil, fmt.Errorf("rollout verb %q: %w", req.Verb, ErrNoRollout)
	}
	if errors.Is(err, reconciler.ErrNoRollout) {
		return nil, fmt.Errorf("%w: %w", ErrNoRollout, err)
	}
	if err != nil {
		return nil, notFound(err)
	}
	return st, nil
}
