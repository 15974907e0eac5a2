//go:build linux

package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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
// file changes, refuses one that does not load (the old one keeps running, the error is
// logged), and on SIGTERM stops and exits 0.
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
	table := flotilla(t, "status", "--state", state)
	if !strings.Contains(table.stdout, "settings") || !strings.Contains(table.stdout, "Refused") {
		t.Errorf("status table:\n%s", table.stdout)
	}
	endpoint, err := os.ReadFile(filepath.Join(state, "agent.json"))
	if err != nil {
		t.Fatal(err)
	}
	var where struct{ URL string }
	if err := json.Unmarshal(endpoint, &where); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(where.URL + "/api/v1/apps")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/apps without a token: %s, want 401", resp.Status)
	}
	metrics, err := http.Get(where.URL + "/metrics")
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
