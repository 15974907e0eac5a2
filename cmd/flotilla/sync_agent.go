package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/flotilla-dev/flotilla/reconciler"
	"github.com/flotilla-dev/flotilla/server"
)

// localAgent returns a client of the agent running with the state folder, or nil when none
// runs (no agent.json, or one that does not answer).
func localAgent(ctx context.Context, state string) *agentClient {
	f := clientFlags{state: state}
	client, err := f.client()
	if err != nil {
		return nil
	}
	probe, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := client.do(probe, http.MethodGet, "/healthz", nil, nil); err != nil {
		return nil
	}
	return client
}

// syncThroughAgent asks the running agent to sync the App (on opts.Cluster, or every cluster it
// selects), so that the agent and the CLI never write one App × Cluster at the same moment,
// then waits for the agent to report each of those pairs reconciled after the request, and
// returns their status.
func syncThroughAgent(ctx context.Context, client *agentClient, opts reconciler.Options, progress io.Writer) ([]server.ClusterStatus, error) {
	query := url.Values{}
	if opts.Cluster != "" {
		query.Set("cluster", opts.Cluster)
	}
	for name, set := range map[string]bool{"forceConflicts": opts.ForceConflicts, "confirmPrune": opts.ConfirmPrune, "dryRun": opts.DryRun, "overrideWindow": opts.OverrideWindow} {
		if set {
			query.Set(name, strconv.FormatBool(true))
		}
	}
	asked := time.Now()
	var accepted server.SyncAccepted
	if err := client.do(ctx, http.MethodPost, "/api/v1/apps/"+url.PathEscape(opts.App)+"/sync", query, &accepted); err != nil {
		return nil, fmt.Errorf("%w (flotilla sync --direct syncs from this process instead)", err)
	}
	fmt.Fprintf(progress, "asked the agent at %s to sync App/%s on %v\n", client.url, opts.App, accepted.Clusters)
	wanted := map[string]bool{}
	for _, c := range accepted.Clusters {
		wanted[c] = true
	}
	for {
		var app server.AppStatus
		if err := client.do(ctx, http.MethodGet, "/api/v1/apps/"+url.PathEscape(opts.App), nil, &app); err != nil {
			return nil, err
		}
		var done []server.ClusterStatus
		for _, c := range app.Clusters {
			if wanted[c.Cluster] && startedSince(c, accepted.Accepted, asked) {
				done = append(done, c)
			}
		}
		if len(done) == len(wanted) {
			return done, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the agent: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// startedSince says whether the pair's last reconcile started at or after the agent accepted
// the request (by the agent's clock; a reconcile under way then, which ends later, is not the
// one asked for), or, from an agent that does not say when it accepted, ended after asked.
func startedSince(c server.ClusterStatus, accepted, asked time.Time) bool {
	if accepted.IsZero() {
		return c.LastSync.After(asked)
	}
	took, err := time.ParseDuration(c.LastDuration)
	if err != nil || c.LastSync.IsZero() {
		return false
	}
	// The agent rounds durations to the millisecond: a reconcile that started right after the
	// request may seem to have started up to half a millisecond before it.
	return !c.LastSync.Add(-took).Before(accepted.Add(-time.Millisecond))
}

// printAgentSync prints the agent's status of the pairs it synced, and whether one failed.
func printAgentSync(g *globals, app string, pairs []server.ClusterStatus) error {
	status := []server.AppStatus{{Name: app, Clusters: pairs}}
	if err := printData(g, status, func(w io.Writer) { printStatus(w, status) }); err != nil {
		return err
	}
	for _, p := range pairs {
		if p.State == server.StateFailed || p.State == server.StateRefused || p.State == server.StateHeld {
			return exitError{code: 1}
		}
	}
	return nil
}
