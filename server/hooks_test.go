package server_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/server"
	"github.com/flotilla-dev/flotilla/sources/webhook"
)

// githubPush is a GitHub push event for repository repo (by its name under you/).
func githubPush(repo string) []byte {
	return []byte(`{"ref":"refs/heads/main","before":"0000000000000000000000000000000000000000",` +
		`"after":"1111111111111111111111111111111111111111",` +
		`"repository":{"full_name":"you/` + repo + `","clone_url":"https://git.example.com/you/` + repo + `.git",` +
		`"html_url":"https://git.example.com/you/` + repo + `","ssh_url":"git@git.example.com:you/` + repo + `.git"}}`)
}

// githubHeader signs body with key as GitHub does, for event.
func githubHeader(event string, body, key []byte) http.Header {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-GitHub-Event", event)
	h.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	h.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	return h
}

// hookCase is a webhook request and what it must lead to.
type hookCase struct {
	name, path string
	body       []byte
	header     http.Header
	status     int
	want       string // the JSON body
	result     string // the result label counted
	pushed     bool   // whether the agent got the push
}

// TestHooks goes through the webhook endpoints' answers, and the metric each one counts.
func TestHooks(t *testing.T) {
	tooBig := bytes.Repeat([]byte(" "), webhook.MaxBody+1)
	tests := []hookCase{
		{"push, matched", "/hooks/github", githubPush("fleet"), githubHeader("push", githubPush("fleet"), secret), 202, `{"sources":["fleet"]}`, "queued", true},
		{"push, no Source follows", "/hooks/github", githubPush("other"), githubHeader("push", githubPush("other"), secret), 202, `{"sources":[]}`, "unmatched", true},
		{"ping", "/hooks/github", []byte(`{"zen":"Keep it simple.","hook_id":1}`), githubHeader("ping", []byte(`{"zen":"Keep it simple.","hook_id":1}`), secret), 202, `{"sources":[],"ignored":true}`, "ignored", false},
		{"malformed JSON", "/hooks/github", []byte(`{"ref": `), githubHeader("push", []byte(`{"ref": `), secret), 400, `{"error":"malformed payload"}`, "malformed", false},
		{"wrong secret", "/hooks/github", githubPush("fleet"), githubHeader("push", githubPush("fleet"), []byte("another-secret")), 401, `{"error":"invalid signature"}`, "bad_signature", false},
		{"signature of another body", "/hooks/github", githubPush("fleet"), githubHeader("push", githubPush("other"), secret), 401, `{"error":"invalid signature"}`, "bad_signature", false},
		{"oversized body", "/hooks/github", tooBig, githubHeader("push", tooBig, secret), 413, `{"error":"body too large"}`, "too_large", false},
	}
	for _, p := range []string{"github", "gitlab", "gitea", "generic"} {
		tests = append(tests, hookCase{p + " without signature", "/hooks/" + p, githubPush("fleet"), http.Header{"Content-Type": {"application/json"}}, 401, `{"error":"invalid signature"}`, "bad_signature", false})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			status, body := ts.do(t, "POST", tt.path, "", tt.body, tt.header)
			if status != tt.status {
				t.Errorf("status %d, want %d (body %s)", status, tt.status, body)
			}
			assertJSONEqual(t, body, tt.want)
			provider := strings.TrimPrefix(tt.path, "/hooks/")
			if got := webhookCount(t, ts, provider, tt.result); got != 1 {
				t.Errorf("flotilla_webhook_requests_total{provider=%q,result=%q} = %v, want 1", provider, tt.result, got)
			}
			_, _, pushes := ts.agent.calls()
			if got := len(pushes) == 1; got != tt.pushed {
				t.Errorf("agent got %d pushes, want pushed=%v", len(pushes), tt.pushed)
			}
		})
	}
}

// TestHookPushReachesAgent checks what the agent is handed for a push.
func TestHookPushReachesAgent(t *testing.T) {
	ts := newTestServer(t)
	body := githubPush("fleet")
	if status, got := ts.do(t, "POST", "/hooks/github", "", body, githubHeader("push", body, secret)); status != http.StatusAccepted {
		t.Fatalf("status %d: %s", status, got)
	}
	_, _, pushes := ts.agent.calls()
	if len(pushes) != 1 {
		t.Fatalf("agent got %d pushes, want 1", len(pushes))
	}
	p := pushes[0]
	if p.Provider != webhook.GitHub || p.Ref != "refs/heads/main" || p.Commit != strings.Repeat("1", 40) {
		t.Errorf("push %+v: want provider github, ref refs/heads/main, commit 111…", p)
	}
	if !slices.Contains(p.Repositories, "https://git.example.com/you/fleet.git") {
		t.Errorf("push repositories %q do not name the clone URL", p.Repositories)
	}
}

// TestHookChunkedOversized checks the cap without a Content-Length: the body is cut at
// webhook.MaxBody and the answer is 413 all the same.
func TestHookChunkedOversized(t *testing.T) {
	ts := newTestServer(t)
	req, err := http.NewRequest("POST", ts.URL+"/hooks/github", io.MultiReader(bytes.NewReader(bytes.Repeat([]byte(" "), webhook.MaxBody)), strings.NewReader("{}")))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1 // sent chunked
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
}

// TestHookUnconfigured checks that a provider without a secret takes nothing.
func TestHookUnconfigured(t *testing.T) {
	srv, err := server.New(server.Options{
		Agent:          newFakeAgent(),
		WebhookSecrets: map[webhook.Provider][]byte{webhook.GitLab: secret},
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: httpServe(t, srv.Handler())}
	body := githubPush("fleet")
	status, got := ts.do(t, "POST", "/hooks/github", "", body, githubHeader("push", body, secret))
	if status != http.StatusNotFound {
		t.Errorf("status %d, want 404", status)
	}
	assertJSONEqual(t, got, `{"error":"webhook not configured"}`)
}

// TestHookEveryProvider sends each provider's push, signed as that provider signs, and checks
// that it reaches the agent and queues the Source that follows the repository.
func TestHookEveryProvider(t *testing.T) {
	const repo = "https://git.example.com/you/fleet.git"
	tests := []struct {
		provider           webhook.Provider
		eventHeader, event string
		body               string
	}{
		{webhook.GitHub, webhook.HeaderGitHubEvent, "push", string(githubPush("fleet"))},
		{webhook.GitLab, webhook.HeaderGitLabEvent, "Push Hook", `{"object_kind":"push","ref":"refs/heads/main","after":"` + strings.Repeat("2", 40) + `","project":{"git_http_url":"` + repo + `"}}`},
		{webhook.Gitea, webhook.HeaderGiteaEvent, "push", `{"ref":"refs/heads/main","after":"` + strings.Repeat("3", 40) + `","repository":{"clone_url":"` + repo + `"}}`},
		{webhook.Generic, "", "", `{"repository":"` + repo + `","ref":"refs/heads/main","commit":"` + strings.Repeat("4", 40) + `"}`},
	}
	for _, tt := range tests {
		t.Run(string(tt.provider), func(t *testing.T) {
			ts := newTestServer(t)
			header := webhook.Sign(tt.provider, []byte(tt.body), secret)
			header.Set("Content-Type", "application/json")
			if tt.eventHeader != "" {
				header.Set(tt.eventHeader, tt.event)
			}
			status, body := ts.do(t, "POST", "/hooks/"+string(tt.provider), "", []byte(tt.body), header)
			if status != http.StatusAccepted {
				t.Fatalf("status %d, want 202 (body %s)", status, body)
			}
			assertJSONEqual(t, body, `{"sources":["fleet"]}`)
			_, _, pushes := ts.agent.calls()
			if len(pushes) != 1 || pushes[0].Provider != tt.provider || pushes[0].Ref != "refs/heads/main" {
				t.Errorf("agent got %+v, want one %s push of refs/heads/main", pushes, tt.provider)
			}
		})
	}
}
