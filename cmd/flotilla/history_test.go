package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/flotilla-dev/flotilla/history"
)

// secretValue is the value of the Secret in testLedger's changes; no output may show it.
const secretValue = "hunter2-very-secret"

// testLedger fills the ledger of a new state folder and returns the folder. Its changes:
// 1 shop/east poll Healthy, 3 shop/west poll Failed, 5 shop/east drift heal (a Secret and a
// Deployment configured), 7 blog/east manual sync by user zoe.
func testLedger(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	state := t.TempDir()
	ledger, err := history.Open(ctx, state)
	if err != nil {
		t.Fatal(err)
	}
	defer ledger.Close()
	shop := history.Revision{Source: "fleet", Ref: "main", Commit: "aaaa1111deadbeef", Subject: "Shop: scale web to three replicas, and move its config to a Secret",
		Author: "Ann Author <ann@example.com>", Committer: "Cy Committer <cy@example.com>", Signature: "unsigned"}
	web := func(replicas int64) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": "web", "namespace": "shop"}, "spec": map[string]any{"replicas": replicas}}}
	}
	secret := func(value string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret",
			"metadata": map[string]any{"name": "db", "namespace": "shop"}, "stringData": map[string]any{"password": value}}}
	}
	changes := []history.Change{
		{App: "shop", Cluster: "east", Trigger: history.TriggerPoll, Actor: history.Actor{Agent: true}, Revision: shop, Result: "Healthy",
			Objects: []history.ObjectChange{{Object: "Deployment.apps/shop/web", Action: "created", Diff: ledger.Diff(nil, web(3))}}},
		{App: "shop", Cluster: "west", Trigger: history.TriggerPoll, Actor: history.Actor{Agent: true}, Revision: shop, Result: "Failed",
			Error: "Deployment.apps/shop/web: the API server refused it", Objects: []history.ObjectChange{{Object: "Deployment.apps/shop/web", Action: "failed", Reason: "the API server refused it"}}},
		{App: "shop", Cluster: "east", Trigger: history.TriggerDrift, Actor: history.Actor{Agent: true}, Revision: shop, Result: "Synced", Digest: "sha256:d1d1",
			Drift: []string{"Deployment.apps/shop/web: .spec.replicas by kubectl-scale"},
			Objects: []history.ObjectChange{
				{Object: "Deployment.apps/shop/web", Action: "configured", Reason: "took back from kubectl-scale: .spec.replicas", Diff: ledger.Diff(web(5), web(3))},
				{Object: "Secret/shop/db", Action: "configured", Diff: ledger.Diff(secret("old-value"), secret(secretValue))},
			}},
		{App: "blog", Cluster: "east", Trigger: history.TriggerManual, Actor: history.Actor{User: "zoe"}, Result: "Synced",
			Revision: history.Revision{Commit: "bbbb2222cafe", Subject: "Blog: two replicas", Author: "Bo <bo@example.com>"},
			Objects:  []history.ObjectChange{{Object: "Deployment.apps/blog/web", Action: "configured"}, {Object: "Service/blog/web", Action: "unchanged"}}},
	}
	for i := range changes {
		if err := ledger.Record(ctx, &changes[i]); err != nil {
			t.Fatal(err)
		}
	}
	return state
}

// changeIDs decodes a JSON list of changes into their IDs.
func changeIDs(t *testing.T, res cliResult) []int64 {
	t.Helper()
	var changes []history.Change
	if err := json.Unmarshal([]byte(res.stdout), &changes); err != nil {
		t.Fatalf("not a JSON list of changes: %v\n%s%s", err, res.stdout, res.stderr)
	}
	ids := []int64{}
	for _, c := range changes {
		ids = append(ids, c.ID)
	}
	return ids
}

// TestHistoryReadsTheStateFolder: with no agent running, `history` reads the state folder's
// ledger: a table, newest first, filtered by its flags, -o json and yaml; bad flags are refused
// naming the flag; a folder without a ledger says so and is left empty.
func TestHistoryReadsTheStateFolder(t *testing.T) {
	state := testLedger(t)
	table := flotilla(t, "history", "--state", state)
	if table.code != 0 {
		t.Fatalf("history: exit %d\n%s%s", table.code, table.stdout, table.stderr)
	}
	lines := strings.Split(strings.TrimRight(table.stdout, "\n"), "\n")
	if len(lines) != 5 || strings.Join(strings.Fields(lines[0]), " ") != "ID STARTED APP CLUSTER TRIGGER REVISION AUTHOR RESULT WRITES" {
		t.Fatalf("history table: want a header and 4 rows:\n%s", table.stdout)
	}
	rows := map[string]string{}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		rows[f[0]] = strings.Join(append(f[:1:1], f[3:]...), " ") // without the start time
	}
	for id, want := range map[string]string{
		"7": "7 blog east manual bbbb2222 Blog: two replicas user zoe Synced 1",
		"5": "5 shop east drift aaaa1111 Shop: scale web to three replicas, and… Ann Author Synced 2",
		"3": "3 shop west poll aaaa1111 Shop: scale web to three replicas, and… Ann Author Failed 0",
		"1": "1 shop east poll aaaa1111 Shop: scale web to three replicas, and… Ann Author Healthy 1",
	} {
		if rows[id] != want {
			t.Errorf("row %s = %q, want %q", id, rows[id], want)
		}
	}
	if !strings.HasPrefix(lines[1], "7 ") || !strings.HasPrefix(lines[4], "1 ") {
		t.Errorf("rows are not newest first:\n%s", table.stdout)
	}

	for _, tt := range []struct {
		args []string
		want []int64
	}{
		{[]string{"--app", "shop", "--cluster", "east"}, []int64{5, 1}},
		{[]string{"--trigger", "drift"}, []int64{5}},
		{[]string{"--author", "zoe"}, []int64{7}},
		{[]string{"--author", "cy@example"}, []int64{5, 3, 1}},
		{[]string{"--revision", "BBBB"}, []int64{7}},
		{[]string{"--since", "1h", "--limit", "2"}, []int64{7, 5}},
		{[]string{"--until", "2020-01-01T00:00:00Z"}, []int64{}},
	} {
		res := flotilla(t, append([]string{"history", "--state", state, "-o", "json"}, tt.args...)...)
		if diff := cmp.Diff(tt.want, changeIDs(t, res)); res.code != 0 || diff != "" {
			t.Errorf("history %s: exit %d, changes (-want +got):\n%s", strings.Join(tt.args, " "), res.code, diff)
		}
	}
	if yaml := flotilla(t, "history", "--state", state, "--trigger", "drift", "-o", "yaml"); !strings.Contains(yaml.stdout, "kubectl-scale") || strings.Contains(yaml.stdout, secretValue) {
		t.Errorf("history -o yaml of the drift heal:\n%s", yaml.stdout)
	}

	for _, tt := range []struct{ args, want string }{
		{"--trigger cron", `--trigger: "cron" is not a trigger; want one of poll, webhook, manual, drift, rollback, auto-rollback, unpin`},
		{"--since yesterday", `--since: "yesterday" is neither an RFC 3339 time`},
		{"--limit 0", `--limit: "0" is not a number from 1 to 10000`},
		{"-o text", `--output "text" is not one of table, json, yaml`},
	} {
		res := flotilla(t, append([]string{"history", "--state", state}, strings.Fields(tt.args)...)...)
		if res.code != 1 || !strings.Contains(res.stderr, tt.want) || res.stdout != "" {
			t.Errorf("history %s: exit %d, stderr %q; want exit 1 and %q", tt.args, res.code, res.stderr, tt.want)
		}
	}

	empty := t.TempDir()
	none := flotilla(t, "history", "--state", empty)
	if none.code != 0 || none.stderr != "no changes recorded yet in "+empty+"\n" || none.stdout != "" {
		t.Errorf("history of a folder without a ledger: exit %d, stdout %q, stderr %q", none.code, none.stdout, none.stderr)
	}
	if js := flotilla(t, "history", "--state", empty, "-o", "json"); js.code != 0 || js.stdout != "[]\n" {
		t.Errorf("history -o json of a folder without a ledger: exit %d, %q", js.code, js.stdout)
	}
	if files, _ := os.ReadDir(empty); len(files) != 0 {
		t.Errorf("reading the history of an empty state folder created %v", files)
	}
	if nomatch := flotilla(t, "history", "--state", state, "--app", "nope"); nomatch.code != 0 || nomatch.stderr != "none of the changes recorded in "+state+" match\n" {
		t.Errorf("history matching nothing: exit %d, stderr %q", nomatch.code, nomatch.stderr)
	}
}

// TestHistoryShow: `history show ID` prints the header, each object and the diffs, Secret
// values masked; -o json the change; an unknown ID is an error.
func TestHistoryShow(t *testing.T) {
	state := testLedger(t)
	res := flotilla(t, "history", "show", "5", "--state", state)
	if res.code != 0 {
		t.Fatalf("history show 5: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{
		"Change 5: App shop on cluster east\n",
		"Who:", "agent",
		"Trigger:", "drift",
		`aaaa1111deadbeef "Shop: scale web to three replicas, and move its config to a Secret" (Source fleet, ref main)`,
		"  Author:", "Ann Author <ann@example.com>", "  Committer:", "Cy Committer <cy@example.com>", "  Signature:", "unsigned",
		"Digest:", "sha256:d1d1",
		"Result:", "Synced",
		"Drift:", "Deployment.apps/shop/web: .spec.replicas by kubectl-scale",
		"Objects (2 written):",
		"configured   Deployment.apps/shop/web   took back from kubectl-scale: .spec.replicas",
		"Diffs:\n--- before/Deployment.apps/shop/web\n+++ after/Deployment.apps/shop/web\n",
		"-  replicas: 5\n+  replicas: 3\n",
		"--- before/Secret/shop/db",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("history show 5 lacks %q:\n%s", want, res.stdout)
		}
	}
	if strings.Contains(res.stdout, secretValue) || strings.Contains(res.stdout, "old-value") {
		t.Errorf("history show 5 shows a Secret value:\n%s", res.stdout)
	}
	failed := flotilla(t, "history", "show", "3", "--state", state)
	for _, want := range []string{"Result:", "Failed", "Error:", "the API server refused it", "  failed   Deployment.apps/shop/web   the API server refused it"} {
		if !strings.Contains(failed.stdout, want) {
			t.Errorf("history show 3 lacks %q:\n%s", want, failed.stdout)
		}
	}
	js := flotilla(t, "history", "show", "7", "--state", state, "-o", "json")
	var c history.Change
	if err := json.Unmarshal([]byte(js.stdout), &c); err != nil || c.ID != 7 || c.Actor.User != "zoe" || len(c.Objects) != 2 {
		t.Errorf("history show 7 -o json: %v\n%s", err, js.stdout)
	}
	for _, tt := range []struct{ id, want string }{
		{"99", "change 99 is not in the ledger in " + state},
		{"x", `change ID "x": want the number in the ID column of flotilla history`},
	} {
		if res := flotilla(t, "history", "show", tt.id, "--state", state); res.code != 1 || !strings.Contains(res.stderr, tt.want) {
			t.Errorf("history show %s: exit %d, stderr %q; want exit 1 and %q", tt.id, res.code, res.stderr, tt.want)
		}
	}
}

// sqlite3 runs SQL on the ledger of a state folder with the sqlite3 CLI, as someone editing it
// by hand would.
func sqlite3(t *testing.T, state, sql string) {
	t.Helper()
	if _, err := exec.LookPath("sqlite3"); err != nil {
		t.Fatal("the sqlite3 CLI is needed (apt-get install sqlite3; .ci/run installs it)")
	}
	if out, err := exec.Command("sqlite3", filepath.Join(state, history.DatabaseFile), sql).CombinedOutput(); err != nil {
		t.Fatalf("sqlite3 %q: %v\n%s", sql, err, out)
	}
}

// TestAuditVerifyAndExport: an untouched ledger verifies (exit 0); its export verifies too, and
// still does once the ledger was edited with sqlite3, which `audit verify` then names (exit 1).
// Without a ledger to check, it exits 2.
func TestAuditVerifyAndExport(t *testing.T) {
	state := testLedger(t)
	intact := flotilla(t, "audit", "verify", "--state", state)
	if intact.code != 0 || intact.stdout != "ledger intact: 4 changes (entries 1–8)\n" {
		t.Fatalf("audit verify of an untouched ledger: exit %d, %q %s", intact.code, intact.stdout, intact.stderr)
	}
	archive := filepath.Join(t.TempDir(), "ledger.jsonl")
	if res := flotilla(t, "audit", "export", "--state", state, "--file", archive); res.code != 0 || res.stderr != "exported 8 entries to "+archive+"\n" {
		t.Fatalf("audit export --file: exit %d, %s", res.code, res.stderr)
	}
	exported, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	if stdout := flotilla(t, "audit", "export", "--state", state); stdout.code != 0 || stdout.stdout != string(exported) {
		t.Errorf("audit export to stdout differs from --file: exit %d\n%s", stdout.code, stdout.stdout)
	}
	if strings.Contains(string(exported), secretValue) {
		t.Error("the export holds a Secret value")
	}
	if since := flotilla(t, "audit", "export", "--state", state, "--since", "2099-01-01T00:00:00Z"); since.code != 0 || since.stdout != "" {
		t.Errorf("audit export --since a time to come: exit %d, %q", since.code, since.stdout)
	}

	sqlite3(t, state, "UPDATE entries SET result = 'Healthy' WHERE seq = 4")
	edited := flotilla(t, "audit", "verify", "--state", state)
	if want := "ledger not intact: entry 4 (change 3, end of shop/west) was edited: its seal does not match its contents\n"; edited.code != 1 || edited.stdout != want {
		t.Errorf("audit verify after an edit: exit %d, %q; want exit 1 and %q", edited.code, edited.stdout, want)
	}
	var v history.Verification
	js := flotilla(t, "audit", "verify", "--state", state, "-o", "json")
	if err := json.Unmarshal([]byte(js.stdout), &v); err != nil || js.code != 1 || v.Problem == nil || v.Problem.Seq != 4 || v.Problem.Kind != "edited" {
		t.Errorf("audit verify -o json after an edit: exit %d, %v\n%s", js.code, err, js.stdout)
	}
	archived := flotilla(t, "audit", "verify", "--state", state, "--file", archive)
	if want := "export " + archive + " intact: 4 changes (entries 1–8)\n"; archived.code != 0 || archived.stdout != want {
		t.Errorf("audit verify --file of the export taken before the edit: exit %d, %q; want %q %s", archived.code, archived.stdout, want, archived.stderr)
	}
	lines := strings.SplitAfter(string(exported), "\n")
	if last := lines[len(lines)-2]; !strings.HasPrefix(last, `{"trailer":`) {
		t.Errorf("the export ends with %q; want its sealed trailer", last)
	}
	cut := filepath.Join(t.TempDir(), "cut.jsonl")
	writeFile(t, cut, strings.Join(lines[:len(lines)-3], "")) // the last entry and the trailer gone
	if res := flotilla(t, "audit", "verify", "--state", state, "--file", cut); res.code != 0 ||
		res.stdout != "export "+cut+" intact: 4 changes (entries 1–7)\nwarning: entries 1–7 are not followed by a sealed trailer (an export made before exports had one, or a file cut short): entries missing from its end would not show\n" {
		t.Errorf("audit verify --file of an export without its trailer: exit %d, %q", res.code, res.stdout)
	}
	tampered := filepath.Join(t.TempDir(), "tampered.jsonl")
	writeFile(t, tampered, strings.Replace(string(exported), `"result":"Failed"`, `"result":"Healthy"`, 1))
	if res := flotilla(t, "audit", "verify", "--state", state, "--file", tampered); res.code != 1 || !strings.Contains(res.stdout, "not intact: entry 4 (change 3, end of shop/west) was edited") {
		t.Errorf("audit verify --file of an edited export: exit %d, %q", res.code, res.stdout)
	}

	empty := t.TempDir()
	if res := flotilla(t, "audit", "verify", "--state", empty); res.code != 2 || !strings.Contains(res.stderr, "no changes recorded yet in "+empty+": nothing to verify") {
		t.Errorf("audit verify without a ledger: exit %d, %q; want exit 2", res.code, res.stderr)
	}
	if err := os.Remove(filepath.Join(state, history.KeyFile)); err != nil {
		t.Fatal(err)
	}
	if res := flotilla(t, "audit", "verify", "--state", state); res.code != 2 || !strings.Contains(res.stderr, "key file is missing") {
		t.Errorf("audit verify without the key file: exit %d, %q; want exit 2 naming the key file", res.code, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(state, history.KeyFile)); err == nil {
		t.Error("audit verify made a new key file")
	}
}
