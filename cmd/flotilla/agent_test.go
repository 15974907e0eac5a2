//go:build linux

package main

import (
	"errors"
	"os"
	"os/exec"
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
	cmd := exec.Command(flotillaBin, "agent", "--config", cfg, "--cache-dir", t.TempDir(), "--state", t.TempDir())
	log := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill() // already gone when the test passes
	waitForLog(t, log, "agent started", 1)

	writeFile(t, cfg, string(good)+"---\napiVersion: flotilla.dev/v1alpha1\nkind: App\nmetadata: {name: broken}\nspec: {source: nowhere, path: x}\n")
	waitForLog(t, log, "configuration refused", 1)
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
