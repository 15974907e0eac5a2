package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/server"
)

// historyServer is a test server with a real ledger in a temporary state folder holding four
// changes: 1 shop/east poll, 3 shop/west poll (Failed), 5 shop/east drift, 7 blog/east manual.
func historyServer(t *testing.T) (*testServer, *history.Ledger) {
	t.Helper()
	ctx := context.Background()
	ledger, err := history.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ledger.Close() })
	for _, c := range []history.Change{
		{App: "shop", Cluster: "east", Trigger: history.TriggerPoll, Result: "Healthy"},
		{App: "shop", Cluster: "west", Trigger: history.TriggerPoll, Result: "Failed", Error: "apply failed"},
		{App: "shop", Cluster: "east", Trigger: history.TriggerDrift, Result: "Synced", Drift: []string{"Deployment.apps/shop/web: .spec.replicas by kubectl-scale"}},
		{App: "blog", Cluster: "east", Trigger: history.TriggerManual, Result: "Synced", Actor: history.Actor{User: "zoe"},
			Revision: history.Revision{Commit: "bbbb2222", Subject: "Blog: two replicas", Author: "Bo <bo@example.com>"}},
	} {
		if c.Revision.Commit == "" {
			c.Revision = history.Revision{Commit: "aaaa1111", Subject: "Shop: first", Author: "Ann <ann@example.com>"}
		}
		c.Objects = []history.ObjectChange{{Object: "Deployment.apps/" + c.App + "/web", Action: "configured", Diff: "-replicas: 1\n+replicas: 2\n"}}
		if err := ledger.Record(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	return newTestServer(t, func(o *server.Options) { o.Ledger = ledger }), ledger
}

// TestHistoryRoutes queries the ledger through the API: filters, one change, and the answers to
// queries it cannot use, each naming the parameter.
func TestHistoryRoutes(t *testing.T) {
	ts, _ := historyServer(t)
	future := url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339))
	tests := []struct {
		name, query string
		status      int
		ids         []int64 // the changes listed, for a 200
		contains    string  // text the body must hold, for other answers
	}{
		{"everything, newest first", "", 200, []int64{7, 5, 3, 1}, ""},
		{"app", "?app=shop", 200, []int64{5, 3, 1}, ""},
		{"app and cluster", "?app=shop&cluster=east", 200, []int64{5, 1}, ""},
		{"trigger", "?trigger=drift", 200, []int64{5}, ""},
		{"author is the actor too", "?author=zoe", 200, []int64{7}, ""},
		{"revision prefix", "?revision=bbbb", 200, []int64{7}, ""},
		{"since a duration ago", "?since=1h", 200, []int64{7, 5, 3, 1}, ""},
		{"since days ago, until now", "?since=2d&until=0s", 200, []int64{7, 5, 3, 1}, ""},
		{"since a time to come", "?since=" + future, 200, []int64{}, ""},
		{"until a time past", "?until=2020-01-01T00:00:00Z", 200, []int64{}, ""},
		{"limit", "?limit=2", 200, []int64{7, 5}, ""},
		{"bad since", "?since=yesterday", 400, nil, `query parameter since: \"yesterday\" is neither an RFC 3339 time`},
		{"negative duration", "?until=-1h", 400, nil, "query parameter until:"},
		{"since after until", "?since=1h&until=2h", 400, nil, "query parameter since:"},
		{"bad trigger", "?trigger=cron", 400, nil, `query parameter trigger: \"cron\" is not a trigger; want one of poll, webhook, manual, drift, rollback, auto-rollback, unpin`},
		{"limit zero", "?limit=0", 400, nil, "query parameter limit:"},
		{"limit too high", "?limit=10001", 400, nil, "query parameter limit:"},
		{"unknown parameter", "?application=shop", 400, nil, "query parameter application: unknown"},
		{"parameter twice", "?app=shop&app=blog", 400, nil, "query parameter app: given 2 times"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := ts.do(t, "GET", "/api/v1/history"+tt.query, viewerToken, nil, nil)
			if status != tt.status {
				t.Fatalf("status %d, want %d (body %s)", status, tt.status, body)
			}
			if tt.ids == nil {
				if !strings.Contains(body, tt.contains) {
					t.Errorf("body %s does not hold %s", body, tt.contains)
				}
				return
			}
			var changes []history.Change
			if err := json.Unmarshal([]byte(body), &changes); err != nil {
				t.Fatalf("not a JSON list of changes: %v: %s", err, body)
			}
			ids := []int64{}
			for _, c := range changes {
				ids = append(ids, c.ID)
			}
			if diff := cmp.Diff(tt.ids, ids); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
		})
	}

	status, body := ts.do(t, "GET", "/api/v1/history/7", viewerToken, nil, nil)
	var c history.Change
	if err := json.Unmarshal([]byte(body), &c); status != 200 || err != nil {
		t.Fatalf("GET /api/v1/history/7: %d %v: %s", status, err, body)
	}
	if c.ID != 7 || c.App != "blog" || c.Actor.User != "zoe" || c.Revision.Subject != "Blog: two replicas" || c.Result != "Synced" ||
		len(c.Objects) != 1 || c.Objects[0].Diff == "" || c.Finished.IsZero() {
		t.Errorf("change 7 reads back as %+v", c)
	}
	for path, want := range map[string]string{
		"/api/v1/history/999": `{"error":"change not found"}`,
		"/api/v1/history/abc": `{"error":"change ID: want a positive number"}`,
		"/api/v1/history/0":   `{"error":"change ID: want a positive number"}`,
	} {
		_, body := ts.do(t, "GET", path, viewerToken, nil, nil)
		assertJSONEqual(t, body, want)
	}
	if status, _ := ts.do(t, "GET", "/api/v1/history/999", viewerToken, nil, nil); status != http.StatusNotFound {
		t.Errorf("an unknown change: status %d, want 404", status)
	}
}

// TestHistoryAuth: the history routes need a token, and a viewer's will do.
func TestHistoryAuth(t *testing.T) {
	ts, _ := historyServer(t)
	for _, path := range []string{"/api/v1/history", "/api/v1/history/1"} {
		for _, tok := range []struct {
			name, token string
			status      int
		}{{"no token", "", 401}, {"viewer", viewerToken, 200}, {"operator", operatorToken, 200}} {
			if status, body := ts.do(t, "GET", path, tok.token, nil, nil); status != tok.status {
				t.Errorf("%s with %s: status %d, want %d (body %s)", path, tok.name, status, tok.status, body)
			}
		}
		if status, _ := ts.do(t, "POST", path, operatorToken, nil, nil); status != http.StatusMethodNotAllowed {
			t.Errorf("POST %s: status %d, want 405", path, status)
		}
	}
}

// TestHistoryWithoutALedger: a server without a ledger answers 503 "no ledger"; one whose
// ledger fails answers 500 with a fixed message, never the error.
func TestHistoryWithoutALedger(t *testing.T) {
	ts := newTestServer(t)
	for _, path := range []string{"/api/v1/history", "/api/v1/history/1"} {
		status, body := ts.do(t, "GET", path, viewerToken, nil, nil)
		if status != http.StatusServiceUnavailable {
			t.Errorf("%s: status %d, want 503", path, status)
		}
		assertJSONEqual(t, body, `{"error":"no ledger"}`)
	}
	broken, ledger := historyServer(t)
	ledger.Close()
	for _, path := range []string{"/api/v1/history", "/api/v1/history/1"} {
		status, body := broken.do(t, "GET", path, viewerToken, nil, nil)
		if status != http.StatusInternalServerError {
			t.Errorf("%s with a closed ledger: status %d, want 500", path, status)
		}
		assertJSONEqual(t, body, `{"error":"history could not be read"}`)
	}
}
