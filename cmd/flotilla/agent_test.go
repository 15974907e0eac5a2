//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/history"
)

// lockedBuffer is a strings.Builder safe to read while a process writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitForLog waits until the log holds text n times.
func waitForLog(t *testing.T, log *lockedBuffer, text string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(log.String(), text) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the agent never logged %q (%d times):\n%s", text, n, log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAgentReloadsAndStopsOnSignals: the agent reloads its configuration on SIGHUP and when its
// file changes, refuses one that does not load, by either (the old one keeps running, the error
// is logged and in status), and on SIGTERM stops and exits 0.
func TestAgentReloadsAndStopsOnSignals(t *testing.T) {
	cfg, _ := errorsFleet(t, "fleet.git", "{branch: main}")
	good, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	cmd := exec.Command(flotillaBin, "agent", "--config", cfg, "--cache-dir", t.TempDir(), "--state", state, "--listen", "127.0.0.1:0")
	log := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill() // already gone when the test passes
	waitForLog(t, log, "agent started", 1)
	checkStatusThroughTheAPI(t, state, cfg)
	checkHistoryThroughTheAPI(t, state)

	writeFile(t, cfg, string(good)+"---\napiVersion: flotilla.dev/v1alpha1\nkind: App\nmetadata: {name: broken}\nspec: {source: nowhere, path: x}\n")
	waitForLog(t, log, "configuration refused", 1)
	if refused := flotilla(t, "status", "--state", state); !strings.Contains(refused.stderr, "refused its new configuration") || !strings.Contains(refused.stderr, "nowhere") {
		t.Errorf("status does not show the refused configuration:\n%s", refused.stderr)
	}
	if !strings.Contains(log.String(), "nowhere") {
		t.Errorf("the refusal does not say what is wrong:\n%s", log.String())
	}
	writeFile(t, cfg, string(good))
	waitForLog(t, log, "configuration reloaded", 1)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitForLog(t, log, "reason=SIGHUP", 1)

	// SIGHUP with a broken configuration: refused, the running one stays and keeps serving.
	writeFile(t, cfg, string(good)+"---\napiVersion: flotilla.dev/v1alpha1\nkind: App\nmetadata: {name: broken}\nspec: {source: nowhere, path: x}\n")
	waitForLog(t, log, "configuration refused", 2)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitForLog(t, log, "reason=SIGHUP error=", 1)
	still := flotilla(t, "status", "--state", state, "--wide")
	if still.code != 0 || !strings.Contains(still.stderr, "refused its new configuration") || strings.Count(still.stdout, "settings") != 3 || strings.Contains(still.stdout, "broken") {
		t.Errorf("after SIGHUP with a broken configuration, status shows (exit %d):\n%s%s", still.code, still.stdout, still.stderr)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		var exit *exec.ExitError
		if errors.As(err, &exit) || err != nil {
			t.Fatalf("exit after SIGTERM: %v, want 0\n%s", err, log.String())
		}
		if !strings.Contains(log.String(), "agent stopped") {
			t.Errorf("the log does not say the agent stopped:\n%s", log.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30 s after SIGTERM\n%s", log.String())
	}
}

// checkStatusThroughTheAPI: flotilla status finds the local agent through its state folder and
// shows each pair (refused here: the App's render is empty); flotilla sync --app asks the agent
// and shows its result; the API refuses a request without the token.
func checkStatusThroughTheAPI(t *testing.T, state, cfgPath string) {
	t.Helper()
	var apps []struct {
		Name     string `json:"name"`
		Clusters []struct {
			Cluster, State, LastError string
		} `json:"clusters"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res := flotilla(t, "status", "--state", state, "-o", "json")
		if res.code == 0 {
			if err := json.Unmarshal([]byte(res.stdout), &apps); err != nil {
				t.Fatalf("status -o json: %v\n%s", err, res.stdout)
			}
			if len(apps) == 1 && len(apps[0].Clusters) == 3 && apps[0].Clusters[0].State == "Refused" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never showed the three refused pairs: %d\n%s%s", res.code, res.stdout, res.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(apps[0].Clusters[0].LastError, "the render holds no objects") {
		t.Errorf("the failing pair's error does not say why: %q", apps[0].Clusters[0].LastError)
	}
	synced := flotilla(t, "sync", "--config", cfgPath, "--app", "settings", "--cluster", "dev-2", "--state", state)
	if synced.code != 1 || !strings.Contains(synced.stderr, "asked the agent at") || !strings.Contains(synced.stdout, "dev-2") || strings.Contains(synced.stdout, "dev-1") {
		t.Errorf("sync --app with an agent running: exit %d, want 1 (the agent's sync is refused) and the agent asked for dev-2 only:\n%s%s", synced.code, synced.stdout, synced.stderr)
	}
	viaServer := flotilla(t, "sync", "--config", cfgPath, "--app", "settings", "--cluster", "dev-2", "--server", agentURL(t, state), "--token-file", filepath.Join(state, "token"))
	if viaServer.code != 1 || !strings.Contains(viaServer.stderr, "asked the agent at "+agentURL(t, state)) || !strings.Contains(viaServer.stdout, "dev-2") {
		t.Errorf("sync --app --server: exit %d, want 1 and the agent asked:\n%s%s", viaServer.code, viaServer.stdout, viaServer.stderr)
	}
	// Without --app, each App is asked of the agent: nothing writes beside it.
	if every := flotilla(t, "sync", "--config", cfgPath, "--state", state); every.code != 1 || !strings.Contains(every.stderr, "asked the agent at") || strings.Count(every.stdout, "settings") != 3 {
		t.Errorf("sync without --app with an agent running: exit %d, want 1 and the agent asked for every cluster:\n%s%s", every.code, every.stdout, every.stderr)
	}
	table := flotilla(t, "status", "--state", state)
	if !strings.Contains(table.stdout, "settings") || !strings.Contains(table.stdout, "Refused") {
		t.Errorf("status table:\n%s", table.stdout)
	}
	url := agentURL(t, state)
	resp, err := http.Get(url + "/api/v1/apps")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/apps without a token: %s, want 401", resp.Status)
	}
	metrics, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer metrics.Body.Close()
	body, _ := io.ReadAll(metrics.Body)
	for _, name := range []string{`flotilla_source_fetch_duration_seconds_count{source="fleet"}`, `flotilla_syncs_total{app="settings",cluster="dev-1"`, "flotilla_queue_depth"} {
		if !strings.Contains(string(body), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

// agentURL is where the agent of the state folder listens, as its agent.json says.
func agentURL(t *testing.T, state string) string {
	t.Helper()
	endpoint, err := os.ReadFile(filepath.Join(state, "agent.json"))
	if err != nil {
		t.Fatal(err)
	}
	var where struct{ URL string }
	if err := json.Unmarshal(endpoint, &where); err != nil {
		t.Fatal(err)
	}
	return where.URL
}

// checkHistoryThroughTheAPI: the agent opened the ledger of its state folder; a change recorded
// there by another process (as a direct sync beside the agent records) is listed by flotilla
// history through the local agent and through --server, and shown whole by history show; the
// history API refuses a request without a token.
func checkHistoryThroughTheAPI(t *testing.T, state string) {
	t.Helper()
	ctx := context.Background()
	ledger, err := history.Open(ctx, state)
	if err != nil {
		t.Fatal(err)
	}
	c := history.Change{App: "settings", Cluster: "dev-1", Trigger: history.TriggerManual, Actor: history.Actor{User: "tester"},
		Revision: history.Revision{Commit: "cccc3333", Subject: "Settings: recorded beside the agent"}, Result: "Synced"}
	err = ledger.Record(ctx, &c)
	ledger.Close()
	if err != nil {
		t.Fatal(err)
	}
	url, token := agentURL(t, state), filepath.Join(state, "token")
	for _, args := range [][]string{
		{"history", "--state", state, "--revision", "cccc3333", "-o", "json"},
		{"history", "--server", url, "--token-file", token, "--revision", "cccc3333", "-o", "json"},
	} {
		res := flotilla(t, args...)
		if ids := changeIDs(t, res); res.code != 0 || len(ids) != 1 || ids[0] != c.ID {
			t.Errorf("flotilla %s: exit %d, changes %v; want [%d]\n%s", strings.Join(args, " "), res.code, ids, c.ID, res.stderr)
		}
	}
	show := flotilla(t, "history", "show", strconv.FormatInt(c.ID, 10), "--server", url, "--token-file", token)
	if show.code != 0 || !strings.Contains(show.stdout, "user tester") || !strings.Contains(show.stdout, "Settings: recorded beside the agent") {
		t.Errorf("history show through the API: exit %d\n%s%s", show.code, show.stdout, show.stderr)
	}
	resp, err := http.Get(url + "/api/v1/history")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/history without a token: %s, want 401", resp.Status)
	}
}
