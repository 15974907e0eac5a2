//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/server"
)

// TestRollbackAndUnpinThroughTheAgent, on a real cluster with a real agent (sync.automated
// on): after two commits, `flotilla rollback --all --steps 1` through --server with a token
// named oncall puts the first one back (kubectl sees it), status shows the pin, history shows
// the rollback by token oncall with its reason and a sync asked through the agent by token
// local; a revision the ledger does not hold is refused with nothing rolled back; `flotilla
// unpin` lets the agent apply the head again; a second unpin says "not pinned". With the agent
// stopped, the CLI rolls back and unpins by itself, also with Git gone.
func TestRollbackAndUnpinThroughTheAgent(t *testing.T) {
	fleet := agentFleet.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	repo, commit := valueRepo(t, ns)
	first := commit("1")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "flotilla.yaml")
	writeOneClusterConfig(t, cfg, repo.FileURL(), "1h", fleet.Kubeconfig, c.Name, ns, "{automated: true, prune: true}")
	const secret = "oncall-token-0123456789abcdef0123"
	tokens, tokenFile := filepath.Join(dir, "tokens"), filepath.Join(dir, "oncall.token")
	if err := os.WriteFile(tokens, []byte("operator oncall "+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokenFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	agent, log := startAgent(t, "--config", cfg, "--cache-dir", t.TempDir(), "--state", state, "--listen", "127.0.0.1:0", "--token-file", tokens)
	waitForLog(t, log, "agent started", 1)
	url := agentURL(t, state)

	value := func() string {
		v, _ := fleettest.KubectlResult(c, "-n", ns, "get", "configmap/a", "-o", "jsonpath={.data.value}")
		return v
	}
	status := func() server.ClusterStatus {
		res := flotilla(t, "status", "--state", state, "--app", ns, "-o", "json")
		var apps []server.AppStatus
		if json.Unmarshal([]byte(res.stdout), &apps) != nil || len(apps) != 1 || len(apps[0].Clusters) != 1 {
			return server.ClusterStatus{}
		}
		return apps[0].Clusters[0]
	}
	applied := func(commit string) func() error {
		return func() error {
			if st := status(); st.AppliedRevision != commit || st.State != server.StateSynced {
				return fmt.Errorf("applied %s (%s), want %s; value %q\n%s", st.AppliedRevision, st.State, commit, value(), log)
			}
			return nil
		}
	}
	fleettest.Eventually(t, time.Minute, applied(first))
	second := commit("2")
	refresh(t, url, filepath.Join(state, "token"))
	fleettest.Eventually(t, time.Minute, applied(second))
	if synced := flotilla(t, "sync", "--config", cfg, "--app", ns, "--state", state); synced.code != 0 {
		t.Fatalf("sync through the agent: exit %d\n%s%s", synced.code, synced.stdout, synced.stderr)
	}

	missing := flotilla(t, "rollback", "--app", ns, "--all", "--to", "deadbeef", "--server", url, "--token-file", tokenFile)
	if missing.code != 1 || !strings.Contains(missing.stderr, "409 Conflict: App "+ns+" on cluster dev: the ledger holds no applied revision deadbeef") {
		t.Errorf("rollback to a revision never applied: exit %d\n%s%s", missing.code, missing.stdout, missing.stderr)
	}

	rb := flotilla(t, "rollback", "--app", ns, "--all", "--steps", "1", "--reason", "2 is wrong", "--server", url, "--token-file", tokenFile)
	wantLine := fmt.Sprintf("App/%s on cluster dev stays on %s until a commit other than %s arrives; flotilla unpin --app %s --cluster dev to follow Git now", ns, first[:8], second[:8], ns)
	if rb.code != 0 || !strings.Contains(squeeze(rb.stdout), "dev Healthy "+first[:8]+" Value 1") || !strings.Contains(rb.stdout, wantLine) {
		t.Fatalf("rollback: exit %d, want 0, the restored revision and %q:\n%s%s", rb.code, wantLine, rb.stdout, rb.stderr)
	}
	t.Logf("flotilla rollback --app %s --all --steps 1:\n%s%s", ns, rb.stderr, rb.stdout)
	if v := value(); v != "1" {
		t.Errorf("after the rollback: value %q, want 1", v)
	}
	if p := status().Pinned; p == nil || p.Revision != first || p.Until != second || p.Reason != "2 is wrong" {
		t.Errorf("status after the rollback: pinned %+v; want on %s until %s", p, first, second)
	}
	table := flotilla(t, "status", "--state", state, "--app", ns)
	if !strings.Contains(table.stdout, "is pinned on "+first[:12]) {
		t.Errorf("status table does not show the pin:\n%s", table.stdout)
	}
	t.Logf("flotilla status:\n%s", table.stdout)

	unpin := flotilla(t, "unpin", "--app", ns, "--all", "--state", state)
	if unpin.code != 0 || !strings.Contains(unpin.stdout, "unpinned App/"+ns+" on dev: the agent syncs it there") {
		t.Fatalf("unpin: exit %d\n%s%s", unpin.code, unpin.stdout, unpin.stderr)
	}
	fleettest.Eventually(t, time.Minute, func() error {
		if v := value(); v != "2" || status().Pinned != nil {
			return fmt.Errorf("after the unpin: value %q, want 2 (the head), and no pin", v)
		}
		return nil
	})
	if again := flotilla(t, "unpin", "--app", ns, "--cluster", "dev", "--state", state); again.code != 1 || !strings.Contains(again.stderr, "409 Conflict: not pinned") {
		t.Errorf("a second unpin: exit %d, want 1 and not pinned\n%s%s", again.code, again.stdout, again.stderr)
	}

	res := flotilla(t, "history", "--state", state, "--app", ns, "-o", "json")
	var changes []history.Change
	if err := json.Unmarshal([]byte(res.stdout), &changes); err != nil {
		t.Fatalf("history: %v\n%s", err, res.stderr)
	}
	by := map[history.Trigger][]string{}
	for _, ch := range changes {
		by[ch.Trigger] = append(by[ch.Trigger], fmt.Sprintf("%s %s %s %s", ch.Actor, ch.Revision.Commit, ch.Result, ch.Reason))
	}
	for trigger, want := range map[history.Trigger]string{
		history.TriggerRollback: fmt.Sprintf("token oncall %s Healthy 2 is wrong", first),
		history.TriggerManual:   "token local " + second, // the sync asked through the agent, and the one the unpin queued
	} {
		if len(by[trigger]) == 0 || !strings.HasPrefix(by[trigger][len(by[trigger])-1], want) {
			t.Errorf("history: %s changes %q; want the oldest to start with %q", trigger, by[trigger], want)
		}
	}
	if len(by[history.TriggerUnpin]) != 1 || !strings.HasPrefix(by[history.TriggerUnpin][0], "token local "+first+" Unpinned") {
		t.Errorf("history: unpin changes %q; want one by token local", by[history.TriggerUnpin])
	}
	t.Logf("flotilla history:\n%s", flotilla(t, "history", "--state", state, "--app", ns).stdout)

	// Without the agent, the CLI rolls back itself, as the OS user, pinned until a commit
	// other than the Source's head it fetched; when it cannot fetch, until a commit other than
	// the one the cluster ran.
	if err := agent.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitForLog(t, log, "agent stopped", 1)
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	direct := flotilla(t, "rollback", "--app", ns, "--cluster", "dev", "--steps", "1", "--config", cfg, "--state", state, "--cache-dir", t.TempDir())
	wantLine = fmt.Sprintf("stays on %s until a commit other than %s arrives", first[:8], second[:8])
	if direct.code != 0 || !strings.Contains(direct.stdout, wantLine) || strings.Contains(direct.stderr, "asked the agent") || value() != "1" {
		t.Fatalf("rollback without an agent: exit %d, value %q; want 0, 1 and %q\n%s%s", direct.code, value(), wantLine, direct.stdout, direct.stderr)
	}
	rolled := flotilla(t, "history", "--state", state, "--app", ns, "--trigger", "rollback", "--limit", "1", "-o", "json")
	if err := json.Unmarshal([]byte(rolled.stdout), &changes); err != nil || len(changes) != 1 || changes[0].Actor.User != me.Username {
		t.Errorf("the direct rollback is not recorded as %s: %v\n%s", me.Username, err, rolled.stdout)
	}
	if unpin := flotilla(t, "unpin", "--app", ns, "--all", "--config", cfg, "--state", state); unpin.code != 0 || !strings.Contains(unpin.stdout, "the next sync applies Git's revision") {
		t.Errorf("unpin without an agent: exit %d\n%s%s", unpin.code, unpin.stdout, unpin.stderr)
	}
	if err := os.Rename(repo.Bare, repo.Bare+".gone"); err != nil {
		t.Fatal(err)
	}
	// Back to the second revision (by commit: --steps counts back from the first, which has
	// none before it).
	offline := flotilla(t, "rollback", "--app", ns, "--cluster", "dev", "--to", second[:8], "--config", cfg, "--state", state, "--cache-dir", t.TempDir())
	wantLine = fmt.Sprintf("stays on %s until a commit other than %s arrives", second[:8], first[:8])
	if offline.code != 0 || !strings.Contains(offline.stdout, wantLine) || !strings.Contains(offline.stderr, "note: Source/fleet could not be fetched to learn its head") || value() != "2" {
		t.Errorf("rollback with Git gone: exit %d, value %q; want 0, 2, %q and a note\n%s%s", offline.code, value(), wantLine, offline.stdout, offline.stderr)
	}
	t.Logf("flotilla rollback with Git gone:\n%s%s", offline.stderr, offline.stdout)
}

// refresh asks the agent at url to fetch Source fleet now, with the token in tokenFile.
func refresh(t *testing.T, url, tokenFile string) {
	t.Helper()
	token, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url+"/api/v1/sources/fleet/refresh", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("refresh: %s", resp.Status)
	}
}
