package server_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-dev/flotilla/server"
)

// TestAPIRoutes goes through every API route with the token its role needs.
func TestAPIRoutes(t *testing.T) {
	tests := []struct {
		name, method, path, token string
		status                    int
		body                      string // a JSON body the answer must equal, when set
		contains                  string // text the body must hold, when set
	}{
		{"list apps", "GET", "/api/v1/apps", viewerToken, 200, "", `"apps":[{"name":"shop","source":"fleet","automated":true,"clusters":[{"cluster":"dev","wantedRevision":"abc123"`},
		{"one app", "GET", "/api/v1/apps/web", viewerToken, 200,
			`{"name":"web","source":"fleet","automated":false,"clusters":[{"cluster":"dev","wantedRevision":"","appliedRevision":"","state":"OutOfSync","health":"Unknown","lastDuration":"","writes":0}]}`, ""},
		{"drifted objects", "GET", "/api/v1/apps/shop", operatorToken, 200, "",
			`"drifted":[{"id":"Deployment/shop/web","manager":"kubectl-scale","deleted":false,"seen":"2026-11-25T10:00:00Z"}]`},
		{"unknown app", "GET", "/api/v1/apps/nope", viewerToken, 404, `{"error":"app not found"}`, ""},
		{"sync every cluster", "POST", "/api/v1/apps/shop/sync", operatorToken, 202, `{"app":"shop","clusters":["dev","prod"]}`, ""},
		{"sync one cluster", "POST", "/api/v1/apps/shop/sync?cluster=prod&dryRun", operatorToken, 202, `{"app":"shop","clusters":["prod"]}`, ""},
		{"sync unknown app", "POST", "/api/v1/apps/nope/sync", operatorToken, 404, `{"error":"app not found"}`, ""},
		{"sync unselected cluster", "POST", "/api/v1/apps/web/sync?cluster=prod", operatorToken, 404, `{"error":"cluster not found for this app"}`, ""},
		{"sync misspelt option", "POST", "/api/v1/apps/shop/sync?force=true", operatorToken, 400, "", `unknown query parameter \"force\"`},
		{"sync bad flag value", "POST", "/api/v1/apps/shop/sync?dryRun=maybe", operatorToken, 400, `{"error":"query parameter dryRun: want true or false"}`, ""},
		{"refresh", "POST", "/api/v1/sources/fleet/refresh", operatorToken, 202, `{"source":"fleet"}`, ""},
		{"refresh unknown source", "POST", "/api/v1/sources/nope/refresh", operatorToken, 404, `{"error":"source not found"}`, ""},
		{"wrong method", "DELETE", "/api/v1/apps", operatorToken, 405, `{"error":"method not allowed"}`, ""},
		{"GET on a POST route", "GET", "/api/v1/apps/shop/sync", operatorToken, 405, `{"error":"method not allowed"}`, ""},
		{"unknown path", "GET", "/api/v2/apps", operatorToken, 404, `{"error":"not found"}`, ""},
		{"healthz", "GET", "/healthz", "", 200, `{"status":"ok"}`, ""},
	}
	ts := newTestServer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := ts.do(t, tt.method, tt.path, tt.token, nil, nil)
			if status != tt.status {
				t.Errorf("status %d, want %d (body %s)", status, tt.status, body)
			}
			if tt.body != "" {
				assertJSONEqual(t, body, tt.body)
			}
			if !strings.Contains(body, tt.contains) {
				t.Errorf("body %s does not hold %s", body, tt.contains)
			}
		})
	}
}

// assertJSONEqual fails unless got and want are the same JSON value.
func assertJSONEqual(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is not JSON: %v: %s", err, want)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

// TestSyncOptions checks that the query's options reach the agent, with the name of the token
// that asked (the ledger's actor).
func TestSyncOptions(t *testing.T) {
	tests := []struct {
		query string
		want  server.SyncRequest
	}{
		{"", server.SyncRequest{App: "shop", TokenName: "ci"}},
		{"?cluster=dev", server.SyncRequest{App: "shop", Cluster: "dev", TokenName: "ci"}},
		{"?forceConflicts&confirmPrune&dryRun", server.SyncRequest{App: "shop", ForceConflicts: true, ConfirmPrune: true, DryRun: true, TokenName: "ci"}},
		{"?forceConflicts=true&confirmPrune=1&dryRun=false", server.SyncRequest{App: "shop", ForceConflicts: true, ConfirmPrune: true, TokenName: "ci"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			ts := newTestServer(t)
			if status, body := ts.do(t, "POST", "/api/v1/apps/shop/sync"+tt.query, operatorToken, nil, nil); status != http.StatusAccepted {
				t.Fatalf("status %d: %s", status, body)
			}
			syncs, _, _ := ts.agent.calls()
			if diff := cmp.Diff([]server.SyncRequest{tt.want}, syncs); diff != "" {
				t.Errorf("sync requests (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAuth checks tokens and roles on every API route: 401 without a token or with a wrong
// one, with the same body either way; 403 for a viewer on a POST; GET for a viewer.
func TestAuth(t *testing.T) {
	routes := []struct{ method, path string }{
		{"GET", "/api/v1/apps"},
		{"GET", "/api/v1/apps/shop"},
		{"POST", "/api/v1/apps/shop/sync"},
		{"POST", "/api/v1/sources/fleet/refresh"},
	}
	tokens := []struct {
		name, header string
		get, post    int
		body         string
	}{
		{"no token", "", 401, 401, `{"error":"unauthorized"}`},
		{"wrong token", "Bearer " + strings.Repeat("x", len(operatorToken)), 401, 401, `{"error":"unauthorized"}`},
		{"token prefix", "Bearer " + operatorToken[:10], 401, 401, `{"error":"unauthorized"}`},
		{"token as basic auth", "Basic " + operatorToken, 401, 401, `{"error":"unauthorized"}`},
		{"empty bearer", "Bearer ", 401, 401, `{"error":"unauthorized"}`},
		{"viewer", "Bearer " + viewerToken, 200, 403, `{"error":"forbidden"}`},
		{"operator", "bearer " + operatorToken, 200, 202, ""},
	}
	ts := newTestServer(t)
	for _, tok := range tokens {
		for _, rt := range routes {
			t.Run(tok.name+" "+rt.method+" "+rt.path, func(t *testing.T) {
				header := http.Header{}
				if tok.header != "" {
					header.Set("Authorization", tok.header)
				}
				status, body := ts.do(t, rt.method, rt.path, "", nil, header)
				want := tok.get
				if rt.method == "POST" {
					want = tok.post
				}
				if status != want {
					t.Fatalf("status %d, want %d (body %s)", status, want, body)
				}
				if status >= 400 {
					assertJSONEqual(t, body, tok.body)
				}
			})
		}
	}
	if syncs, refresh, _ := ts.agent.calls(); len(syncs) != 1 || len(refresh) != 1 {
		t.Errorf("the agent was asked %d syncs and %d refreshes, want only the operator's one each", len(syncs), len(refresh))
	}
}

// TestErrorsLeakNothing checks that an agent's error or panic becomes a fixed message.
func TestErrorsLeakNothing(t *testing.T) {
	ts := newTestServer(t)
	ts.agent.set(func(a *fakeAgent) { a.syncErr = errors.New("open /var/lib/flotilla/state.db: token " + operatorToken) })
	status, body := ts.do(t, "POST", "/api/v1/apps/shop/sync", operatorToken, nil, nil)
	if status != http.StatusInternalServerError {
		t.Errorf("sync: status %d, want 500", status)
	}
	assertJSONEqual(t, body, `{"error":"sync could not be queued"}`)

	ts.agent.set(func(a *fakeAgent) { a.panicked = true })
	status, body = ts.do(t, "GET", "/api/v1/apps", viewerToken, nil, nil)
	if status != http.StatusInternalServerError {
		t.Errorf("apps: status %d, want 500", status)
	}
	assertJSONEqual(t, body, `{"error":"internal error"}`)
}

// TestReadyz checks /readyz: 503 until the agent is ready, then 200; no token needed.
func TestReadyz(t *testing.T) {
	ts := newTestServer(t)
	status, body := ts.do(t, "GET", "/readyz", "", nil, nil)
	if status != http.StatusServiceUnavailable {
		t.Errorf("before ready: status %d, want 503", status)
	}
	assertJSONEqual(t, body, `{"error":"not ready"}`)
	ts.agent.ready.Store(true)
	status, body = ts.do(t, "GET", "/readyz", "", nil, nil)
	if status != http.StatusOK {
		t.Errorf("once ready: status %d, want 200", status)
	}
	assertJSONEqual(t, body, `{"status":"ready"}`)
}
