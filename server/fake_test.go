package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/server"
	"github.com/flotilla-dev/flotilla/sources/webhook"
)

// Tokens the test servers accept.
const (
	viewerToken   = "viewer-token-0123456789abcdef"
	operatorToken = "operator-token-0123456789abcdef"
)

// fakeAgent is an in-memory server.Agent: two Apps, one Source per repository URL. It records
// what the server asked of it.
type fakeAgent struct {
	ready    atomic.Bool
	mu       sync.Mutex
	apps     []server.AppStatus
	sources  map[string][]string // repository URL → Sources following it
	syncs    []server.SyncRequest
	rolled   []server.RollbackRequest
	unpins   []server.UnpinRequest
	pinned   map[string]bool // "app/cluster" of the pairs a rollback pinned
	refresh  []string
	pushes   []webhook.Push
	syncErr  error // returned by Sync when set
	panicked bool  // Apps panics when set
}

// newFakeAgent has Apps "shop" (on dev and prod) and "web" (on dev), and Source "fleet"
// following https://git.example.com/you/fleet.git.
func newFakeAgent() *fakeAgent {
	seen := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	return &fakeAgent{
		apps: []server.AppStatus{
			{Name: "shop", Source: "fleet", Automated: true, Clusters: []server.ClusterStatus{
				{Cluster: "dev", WantedRevision: "abc123", AppliedRevision: "abc123", State: server.StateSynced, Health: "Healthy", LastSync: seen, LastDuration: "1.2s", Writes: 3},
				{Cluster: "prod", WantedRevision: "abc123", AppliedRevision: "abc122", State: server.StateDrifted, Health: "Healthy", LastSync: seen, LastDuration: "2s",
					Drifted: []server.DriftedObject{{ID: "Deployment/shop/web", Manager: "kubectl-scale", Seen: seen}}},
			}},
			{Name: "web", Source: "fleet", Clusters: []server.ClusterStatus{{Cluster: "dev", State: server.StateOutOfSync, Health: "Unknown"}}},
		},
		sources: map[string][]string{"https://git.example.com/you/fleet.git": {"fleet"}},
		pinned:  map[string]bool{},
	}
}

// Apps returns every App.
func (a *fakeAgent) Apps() []server.AppStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.panicked {
		panic("fake agent: secret internal state /var/lib/flotilla")
	}
	return slices.Clone(a.apps)
}

// App returns the App named name.
func (a *fakeAgent) App(name string) (server.AppStatus, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, app := range a.apps {
		if app.Name == name {
			return app, true
		}
	}
	return server.AppStatus{}, false
}

// Sync records req and accepts it on the clusters the App selects.
func (a *fakeAgent) Sync(ctx context.Context, req server.SyncRequest) (server.SyncAccepted, error) {
	app, ok := a.App(req.App)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.syncErr != nil {
		return server.SyncAccepted{}, a.syncErr
	}
	if !ok {
		return server.SyncAccepted{}, server.ErrNotFound
	}
	a.syncs = append(a.syncs, req)
	accepted := server.SyncAccepted{App: req.App}
	for _, c := range app.Clusters {
		if req.Cluster == "" || req.Cluster == c.Cluster {
			accepted.Clusters = append(accepted.Clusters, c.Cluster)
		}
	}
	return accepted, nil
}

// Rollback records req and "rolls back" each cluster the App selects (or req.Cluster): Healthy,
// restoring req.To (aaaa1111 for steps), pinned until abc123, recorded as change 42; on prod it
// fails.
func (a *fakeAgent) Rollback(ctx context.Context, req server.RollbackRequest) ([]server.RollbackResult, error) {
	app, ok := a.App(req.App)
	a.mu.Lock()
	defer a.mu.Unlock()
	if !ok {
		return nil, server.ErrNotFound
	}
	a.rolled = append(a.rolled, req)
	var results []server.RollbackResult
	for _, c := range app.Clusters {
		if req.Cluster != "" && req.Cluster != c.Cluster {
			continue
		}
		if c.Cluster == "prod" {
			results = append(results, server.RollbackResult{Cluster: c.Cluster, Status: "Failed", Error: "prod: the API server refused it"})
			continue
		}
		to := req.To
		if to == "" {
			to = "aaaa1111"
		}
		a.pinned[req.App+"/"+c.Cluster] = true
		results = append(results, server.RollbackResult{Cluster: c.Cluster, Status: "Healthy", Revision: to, Change: 42,
			Pinned: &server.Pin{Revision: to, Change: 42, Until: "abc123", Reason: req.Reason}})
	}
	return results, nil
}

// Unpin records req and unpins the pairs a rollback pinned.
func (a *fakeAgent) Unpin(ctx context.Context, req server.UnpinRequest) ([]string, error) {
	app, ok := a.App(req.App)
	a.mu.Lock()
	defer a.mu.Unlock()
	if !ok {
		return nil, server.ErrNotFound
	}
	a.unpins = append(a.unpins, req)
	var unpinned []string
	for _, c := range app.Clusters {
		if key := req.App + "/" + c.Cluster; (req.Cluster == "" || req.Cluster == c.Cluster) && a.pinned[key] {
			delete(a.pinned, key)
			unpinned = append(unpinned, c.Cluster)
		}
	}
	if len(unpinned) == 0 {
		return nil, fmt.Errorf("App %s: %w", req.App, server.ErrNotPinned)
	}
	return unpinned, nil
}

// Refresh records a refresh of source "fleet"; any other is not found.
func (a *fakeAgent) Refresh(ctx context.Context, source string) error {
	if source != "fleet" {
		return errors.Join(errors.New("source "+source), server.ErrNotFound)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refresh = append(a.refresh, source)
	return nil
}

// Push records push and returns the Sources following its repositories.
func (a *fakeAgent) Push(ctx context.Context, push webhook.Push) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pushes = append(a.pushes, push)
	var out []string
	for _, repo := range push.Repositories {
		out = append(out, a.sources[repo]...)
	}
	return out
}

// set changes the agent under its lock.
func (a *fakeAgent) set(change func(*fakeAgent)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	change(a)
}

// rollbacks returns the rollbacks and unpins the server asked of the agent so far.
func (a *fakeAgent) rollbacks() ([]server.RollbackRequest, []server.UnpinRequest) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.rolled), slices.Clone(a.unpins)
}

// calls returns what the server asked of the agent so far.
func (a *fakeAgent) calls() (syncs []server.SyncRequest, refresh []string, pushes []webhook.Push) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.syncs), slices.Clone(a.refresh), slices.Clone(a.pushes)
}

// Ready reports whether the test said so.
func (a *fakeAgent) Ready() bool { return a.ready.Load() }

func (a *fakeAgent) ConfigError() string { return "" }

// testServer is a server.Server behind httptest, with its agent and metrics.
type testServer struct {
	*httptest.Server
	agent   *fakeAgent
	metrics *server.Metrics
}

// secret is the webhook secret of every provider in test servers.
var secret = []byte("webhook-secret-for-tests")

// newTestServer serves a server.Server over a fresh fakeAgent on 127.0.0.1, with a viewer and
// an operator token and a secret for every webhook provider; each of tweaks may change its
// options (add a ledger, say) before the server is made.
func newTestServer(t *testing.T, tweaks ...func(*server.Options)) *testServer {
	t.Helper()
	agent := newFakeAgent()
	metrics := server.NewMetrics()
	opts := server.Options{
		Agent: agent,
		Tokens: []server.Token{
			{Role: server.RoleViewer, Name: "grafana", Secret: viewerToken},
			{Role: server.RoleOperator, Name: "ci", Secret: operatorToken},
		},
		WebhookSecrets: map[webhook.Provider][]byte{webhook.GitHub: secret, webhook.GitLab: secret, webhook.Gitea: secret, webhook.Generic: secret},
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics:        metrics,
	}
	for _, tweak := range tweaks {
		tweak(&opts)
	}
	srv, err := server.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &testServer{Server: ts, agent: agent, metrics: metrics}
}

// do sends a request with an optional bearer token and returns the status and body.
func (ts *testServer) do(t *testing.T, method, path, token string, body []byte, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || path != "/metrics" {
		if ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
		}
	}
	return resp.StatusCode, string(got)
}
