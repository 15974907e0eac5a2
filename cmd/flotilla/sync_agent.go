package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/policies"
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
	return !c.LastStarted.IsZero() && !c.LastStarted.Before(accepted)
}

// syncAppsThroughAgent asks the agent to sync each App the flags select (every App, or --app;
// with --cluster, those that select it), one after the other, and prints what it did.
func syncAppsThroughAgent(ctx context.Context, g *globals, client *agentClient, cfg *config.Config, f syncFlags) error {
	var apps []server.AppStatus
	for _, app := range cfg.Apps {
		name := app.Metadata.Name
		if f.config.app != "" && name != f.config.app {
			continue
		}
		if f.config.cluster != "" && !selects(cfg, &app, f.config.cluster) {
			continue
		}
		opts := f.config.passOptions(g, f.opts)
		opts.App = name
		pairs, err := syncThroughAgent(ctx, client, opts, g.stderr)
		if err != nil {
			return err
		}
		apps = append(apps, server.AppStatus{Name: name, Clusters: pairs})
	}
	if len(apps) == 0 {
		return fmt.Errorf("no App selects cluster %q", f.config.cluster)
	}
	return printAgentSync(g, apps)
}

// selects says whether the App selects the cluster.
func selects(cfg *config.Config, app *config.App, cluster string) bool {
	selected, _ := policies.SelectClusters(app.Spec.ClusterSelector, cfg.Clusters) // config.Load validated it
	for _, c := range selected {
		if c.Metadata.Name == cluster {
			return true
		}
	}
	return false
}

// printAgentSync prints the agent's status of the pairs it synced, and whether one failed.
func printAgentSync(g *globals, apps []server.AppStatus) error {
	if err := printData(g, apps, func(w io.Writer) { printStatus(w, apps) }); err != nil {
		return err
	}
	for _, app := range apps {
		for _, p := range app.Clusters {
			if p.State == server.StateFailed || p.State == server.StateRefused || p.State == server.StateHeld {
				return exitError{code: 1}
			}
		}
	}
	return nil
}
