package webhook

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// githubMaxCommits is the most commits GitHub lists in one push payload.
const githubMaxCommits = 2048

// largeGitHubPush builds a push payload from testdata/github-push.json listing n commits, each
// with a message of about 300 bytes and ten paths (two added, seven modified, one removed) of
// about 45 bytes: a long-lived branch merged at once.
func largeGitHubPush(t testing.TB, n int) []byte {
	t.Helper()
	var payload map[string]any
	if err := json.Unmarshal(readTestdata(t, "github-push.json"), &payload); err != nil {
		t.Fatal(err)
	}
	template := payload["commits"].([]any)[0].(map[string]any)
	commits := make([]any, n)
	for i := range commits {
		c := map[string]any{}
		for k, v := range template {
			c[k] = v
		}
		id := fmt.Sprintf("%040x", i+1)
		c["id"], c["tree_id"] = id, fmt.Sprintf("%040x", i+1<<20)
		c["url"] = "https://github.com/Acme/fleet/commit/" + id
		c["message"] = fmt.Sprintf("reviews: change %d of the canary rollout\n\n%s", i, strings.Repeat("Explain why, for the reviewer and for the audit log. ", 5))
		path := func(kind string, j int) string {
			return fmt.Sprintf("overlays/prod-eu-west-1/%s/reviews-%04d-%d.yaml", kind, i, j)
		}
		c["added"] = []string{path("new", 0), path("new", 1)}
		c["removed"] = []string{path("old", 0)}
		var modified []string
		for j := range 7 {
			modified = append(modified, path("mod", j))
		}
		c["modified"] = modified
		commits[i] = c
	}
	payload["commits"] = commits
	body, err := json.Marshal(payload) // GitHub sends compact JSON
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// TestMaxBodyFitsLargeGitHubPush measures the largest push payload GitHub sends for a realistic
// push and checks that MaxBody holds it, and that it still verifies and parses.
func TestMaxBodyFitsLargeGitHubPush(t *testing.T) {
	for _, n := range []int{20, 200, githubMaxCommits} {
		body := largeGitHubPush(t, n)
		t.Logf("GitHub push payload with %d commits: %d bytes (%.2f MiB)", n, len(body), float64(len(body))/(1<<20))
		if len(body) > MaxBody {
			t.Errorf("%d commits: %d bytes, more than MaxBody (%d)", n, len(body), MaxBody)
		}
		h := merge(headers(HeaderGitHubEvent, "push"), Sign(GitHub, body, testSecret))
		if err := Verify(GitHub, h, body, testSecret); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if push, err := Parse(GitHub, h, body); err != nil || push.Ref != "refs/heads/main" {
			t.Fatalf("Parse: %+v, %v", push, err)
		}
	}
}
