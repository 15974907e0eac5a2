package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/server"
)

// rollbackServer is a test server whose ledger recorded, for App shop: on dev, aaaa1111
// (Healthy), a failed attempt at bbbb2222, aaaa2222 (Healthy), a drift heal of aaaa2222 (the
// same render), cccc3333 (Synced, applied now); on prod, aaaa1111 only.
func rollbackServer(t *testing.T) *testServer {
	t.Helper()
	ctx := context.Background()
	ledger, err := history.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ledger.Close() })
	applied := func(cluster, commit string, result history.Result, trigger history.Trigger) history.Change {
		c := history.Change{App: "shop", Cluster: cluster, Trigger: trigger, Actor: history.Actor{Agent: true}, Result: result,
			Revision: history.Revision{Commit: commit, Subject: "Shop: " + commit}, Digest: "sha256:" + commit}
		if result != "Failed" {
			c.Snapshot = "snapshot-" + commit
		}
		return c
	}
	for _, c := range []history.Change{
		applied("dev", "aaaa1111", "Healthy", history.TriggerPoll),
		applied("dev", "bbbb2222", "Failed", history.TriggerPoll),
		applied("dev", "aaaa2222", "Healthy", history.TriggerPoll),
		applied("dev", "aaaa2222", "Synced", history.TriggerDrift),
		applied("dev", "cccc3333", "Synced", history.TriggerPoll),
		applied("prod", "aaaa1111", "Healthy", history.TriggerPoll),
	} {
		if err := ledger.Record(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	return newTestServer(t, func(o *server.Options) { o.Ledger = ledger })
}

// TestRollbackRoute: the rollback route's answers, what reaches the agent (the token's name as
// the actor) and what does not (nothing, when the request or a cluster's ledger cannot serve).
func TestRollbackRoute(t *testing.T) {
	long := strings.Repeat("x", server.MaxReasonLength+1)
	tests := []struct {
		name, path, token string
		status            int
		contains          string                  // text the body must hold
		want              *server.RollbackRequest // what the agent was asked, if anything
	}{
		{"one cluster, by commit", "/shop/rollback?cluster=dev&to=AAAA1111&reason=2+broke+checkout", operatorToken, 200,
			`{"app":"shop","results":[{"cluster":"dev","status":"Healthy","revision":"aaaa1111","change":42,"pinned":{"revision":"aaaa1111","change":42,"until":"abc123","reason":"2 broke checkout","since":"0001-01-01T00:00:00Z"}}]}`,
			&server.RollbackRequest{App: "shop", Cluster: "dev", To: "aaaa1111", Reason: "2 broke checkout", TokenName: "ci"}},
		{"every cluster, one fails", "/shop/rollback?to=aaaa1111", operatorToken, 200, `{"cluster":"prod","status":"Failed","error":"prod: the API server refused it"}`,
			&server.RollbackRequest{App: "shop", To: "aaaa1111", TokenName: "ci"}},
		{"steps over a failed attempt and a drift heal", "/shop/rollback?cluster=dev&steps=2", operatorToken, 200, `"status":"Healthy"`,
			&server.RollbackRequest{App: "shop", Cluster: "dev", Steps: 2, TokenName: "ci"}},
		{"neither to nor steps", "/shop/rollback?cluster=dev", operatorToken, 400, "query parameter to: missing: give to=REVISION", nil},
		{"both to and steps", "/shop/rollback?to=aaaa1111&steps=1", operatorToken, 400, "query parameter steps: give to or steps, not both", nil},
		{"steps zero", "/shop/rollback?steps=0", operatorToken, 400, `query parameter steps: \"0\" is not a whole number from 1`, nil},
		{"steps not a number", "/shop/rollback?steps=one", operatorToken, 400, "query parameter steps:", nil},
		{"to not hex", "/shop/rollback?to=main", operatorToken, 400, `query parameter to: \"main\" is not a commit`, nil},
		{"to too short", "/shop/rollback?to=aaa", operatorToken, 400, "query parameter to:", nil},
		{"unknown parameter", "/shop/rollback?to=aaaa1111&revision=aaaa1111", operatorToken, 400, "query parameter revision: unknown; want one of cluster, to, steps, reason", nil},
		{"parameter twice", "/shop/rollback?to=aaaa1111&to=aaaa2222", operatorToken, 400, "query parameter to: given 2 times", nil},
		{"reason too long", "/shop/rollback?to=aaaa1111&reason=" + long, operatorToken, 400, "query parameter reason:", nil},
		{"unknown App", "/blog/rollback?steps=1", operatorToken, 404, "app not found", nil},
		{"cluster the App does not select", "/web/rollback?cluster=prod&steps=1", operatorToken, 404, "cluster not found for this app", nil},
		{"commit never applied", "/shop/rollback?cluster=dev&to=bbbb2222", operatorToken, 409,
			"App shop on cluster dev: the ledger holds no applied revision bbbb2222 (flotilla history --app shop --cluster dev lists them)", nil},
		{"too many steps on one of the clusters", "/shop/rollback?steps=1", operatorToken, 409,
			"App shop on cluster prod: the ledger holds no revision before the current one, not 1", nil},
		{"ambiguous commit", "/shop/rollback?cluster=dev&to=aaaa", operatorToken, 409, "aaaa names more than one applied revision (aaaa2222, aaaa1111): give more digits", nil},
		{"no ledger of the pair", "/web/rollback?steps=1", operatorToken, 409, "App web on cluster dev: the ledger holds no applied revision to roll back to", nil},
		{"viewer", "/shop/rollback?cluster=dev&steps=1", viewerToken, 403, `{"error":"forbidden"}`, nil},
		{"no token", "/shop/rollback?cluster=dev&steps=1", "", 401, `{"error":"unauthorized"}`, nil},
		{"GET", "/shop/rollback", viewerToken, 405, "method not allowed", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := rollbackServer(t)
			method := "POST"
			if tt.name == "GET" {
				method = "GET"
			}
			status, body := ts.do(t, method, "/api/v1/apps"+tt.path, tt.token, nil, nil)
			if status != tt.status || !strings.Contains(body, tt.contains) {
				t.Errorf("status %d, want %d; body %s, want it to hold %s", status, tt.status, body, tt.contains)
			}
			var want []server.RollbackRequest
			if tt.want != nil {
				want = append(want, *tt.want)
			}
			if rolled, _ := ts.agent.rollbacks(); !cmp.Equal(want, rolled) {
				t.Errorf("the agent was asked (-want +got):\n%s", cmp.Diff(want, rolled))
			}
		})
	}
}

// TestUnpinRoute: unpin answers 409 "not pinned" until a rollback pinned the App, then 200 with
// the clusters unpinned, recorded as asked by the token; its other answers.
func TestUnpinRoute(t *testing.T) {
	ts := rollbackServer(t)
	status, body := ts.do(t, "POST", "/api/v1/apps/shop/unpin", operatorToken, nil, nil)
	if status != http.StatusConflict || !strings.Contains(body, "not pinned: App shop is not pinned on any cluster") {
		t.Errorf("unpin before a rollback: %d %s, want 409 not pinned", status, body)
	}
	if status, body := ts.do(t, "POST", "/api/v1/apps/shop/rollback?to=aaaa1111", operatorToken, nil, nil); status != http.StatusOK {
		t.Fatalf("rollback: %d %s", status, body)
	}
	for _, tt := range []struct {
		path, token string
		status      int
		contains    string
	}{
		{"/shop/unpin?cluster=dev&reason=x", operatorToken, 400, "query parameter reason: unknown; want one of cluster"},
		{"/shop/unpin?cluster=dev", viewerToken, 403, "forbidden"},
		{"/shop/unpin?cluster=staging", operatorToken, 404, "cluster not found for this app"},
		{"/blog/unpin", operatorToken, 404, "app not found"},
		{"/shop/unpin?cluster=prod", operatorToken, 409, "not pinned: App shop is not pinned on cluster prod"},
		{"/shop/unpin", operatorToken, 200, `{"app":"shop","clusters":["dev"]}`},
		{"/shop/unpin?cluster=dev", operatorToken, 409, "not pinned"},
	} {
		status, body := ts.do(t, "POST", "/api/v1/apps"+tt.path, tt.token, nil, nil)
		if status != tt.status || !strings.Contains(body, tt.contains) {
			t.Errorf("POST %s: %d %s, want %d and %s", tt.path, status, body, tt.status, tt.contains)
		}
	}
	_, unpins := ts.agent.rollbacks()
	want := []server.UnpinRequest{
		{App: "shop", TokenName: "ci"}, {App: "shop", Cluster: "prod", TokenName: "ci"},
		{App: "shop", TokenName: "ci"}, {App: "shop", Cluster: "dev", TokenName: "ci"},
	}
	if diff := cmp.Diff(want, unpins); diff != "" {
		t.Errorf("unpins asked of the agent (-want +got):\n%s", diff)
	}
}

// TestRollbackNeedsALedger: without a ledger, rollback and unpin answer 503 and ask nothing.
func TestRollbackNeedsALedger(t *testing.T) {
	ts := newTestServer(t)
	for _, path := range []string{"/api/v1/apps/shop/rollback?steps=1", "/api/v1/apps/shop/unpin"} {
		status, body := ts.do(t, "POST", path, operatorToken, nil, nil)
		if status != http.StatusServiceUnavailable {
			t.Errorf("POST %s without a ledger: %d %s, want 503", path, status, body)
		}
		assertJSONEqual(t, body, `{"error":"no ledger"}`)
	}
	if rolled, unpins := ts.agent.rollbacks(); len(rolled)+len(unpins) != 0 {
		t.Errorf("the agent was asked %v %v", rolled, unpins)
	}
}

// TestStatusShowsThePin: a pinned pair's pin is in the status API.
func TestStatusShowsThePin(t *testing.T) {
	ts := newTestServer(t)
	ts.agent.set(func(a *fakeAgent) {
		a.apps[0].Clusters[0].Pinned = &server.Pin{Revision: "abc122", Subject: "Shop: one replica", Change: 9, Until: "abc123", Reason: "bad"}
	})
	status, body := ts.do(t, "GET", "/api/v1/apps/shop", viewerToken, nil, nil)
	var app server.AppStatus
	if err := json.Unmarshal([]byte(body), &app); status != 200 || err != nil {
		t.Fatalf("GET app: %d %v", status, err)
	}
	if p := app.Clusters[0].Pinned; p == nil || p.Revision != "abc122" || p.Until != "abc123" || p.Change != 9 || app.Clusters[1].Pinned != nil {
		t.Errorf("pins in the status: %+v, %+v", app.Clusters[0].Pinned, app.Clusters[1].Pinned)
	}
}
