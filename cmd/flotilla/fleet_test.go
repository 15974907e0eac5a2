package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/clusters/localfleet"
	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
)

// flotillaBin is the CLI built once for this package's tests: `fleet up` re-executes itself as
// the supervisor, so the tests need a real binary.
var flotillaBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "flotilla-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	flotillaBin = filepath.Join(dir, "flotilla")
	// The CLI's default state folder (the agent's, with its change ledger) is the test run's
	// own, not the user's.
	os.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	// Git as on a new machine: no identity unless a test gives one.
	os.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	os.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	build := exec.Command("go", "build", "-o", flotillaBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build flotilla:", err)
		os.Exit(1)
	}
	code := agentFleet.Main(m) // stops the fleet if a test started it
	os.RemoveAll(dir)
	os.Exit(code)
}

// cliResult is one run of the CLI.
type cliResult struct {
	stdout, stderr string
	code           int
}

func flotilla(t *testing.T, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, flotillaBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("flotilla %s: %v", strings.Join(args, " "), err)
	}
	return res
}

// TestFleetUpStatusDown walks a fleet's life through the CLI, on one fleet: up, status, a
// refused change, a part that stops and comes back with `fleet up`, a supervisor that dies and
// a fleet that comes back from its data, down.
func TestFleetUpStatusDown(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fleet")
	t.Cleanup(func() { flotilla(t, "fleet", "down", "--purge", "--dir", dir) })

	st := fleetUpTwo(t, dir)
	status := flotilla(t, "fleet", "status", "--dir", dir)
	if status.code != 0 || !strings.Contains(status.stdout, "running, held by pid") ||
		!strings.Contains(tableRow(status.stdout, "etcd"), st.Etcd.URL+" yes etcd") || !strings.HasPrefix(tableRow(status.stdout, "edge-2"), "edge-2 "+st.Clusters[1].Server+" yes") {
		t.Errorf("fleet status: exit %d\n%s%s", status.code, status.stdout, status.stderr)
	}
	again := flotilla(t, "fleet", "up", "--clusters", "1", "--dir", dir)
	if again.code == 0 || !strings.Contains(again.stderr, "already running") || !strings.Contains(again.stderr, "fleet down --dir") {
		t.Errorf("fleet up --clusters 1 on a running fleet of 2: exit %d, stderr:\n%s", again.code, again.stderr)
	}
	if procs := fleettest.Processes(dir); len(procs) != 1+2*4+1 { // etcd, 4 per cluster, supervisor
		t.Errorf("after a refused second up, the fleet runs %d processes, want 10: %v", len(procs), procs)
	}
	upLeavesAWholeFleetAlone(t, dir)
	upRestartsAStoppedAPIServer(t, dir)
	upResumesAFleetWhoseSupervisorDied(t, dir)
	downRemovesTheFleet(t, dir)
}

// fleetUpTwo starts two clusters named edge-N without Istio and checks them with kubectl.
func fleetUpTwo(t *testing.T, dir string) *localfleet.Status {
	t.Helper()
	up := flotilla(t, "fleet", "up", "--clusters", "2", "--dir", dir, "--name", "edge", "--istio=false", "-o", "json")
	if up.code != 0 {
		t.Fatalf("fleet up: exit %d\n%s", up.code, up.stderr)
	}
	var st localfleet.Status
	if err := json.Unmarshal([]byte(up.stdout), &st); err != nil {
		t.Fatalf("fleet up -o json printed %q: %v", up.stdout, err)
	}
	if len(st.Clusters) != 2 || st.Clusters[0].Name != "edge-1" || st.Clusters[1].Name != "edge-2" {
		t.Fatalf("fleet up reported clusters %+v, want edge-1 and edge-2", st.Clusters)
	}
	if notReady := st.NotReady(); len(notReady) > 0 {
		t.Errorf("not ready after up: %v", notReady)
	}
	// kubectl, an independent client, reaches each context of the printed kubeconfig.
	for _, c := range st.Clusters {
		out, err := exec.Command("kubectl", "--kubeconfig", st.Kubeconfig, "--context", c.Name,
			"get", "node", localfleet.FakeNodeName, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`).CombinedOutput()
		if err != nil || string(out) != "True" {
			t.Errorf("kubectl --context %s get node: %q, %v", c.Name, out, err)
		}
	}
	return &st
}

func downRemovesTheFleet(t *testing.T, dir string) {
	t.Helper()
	down := flotilla(t, "fleet", "down", "--dir", dir)
	if down.code != 0 {
		t.Fatalf("fleet down: exit %d\n%s", down.code, down.stderr)
	}
	if procs := fleettest.Processes(dir); len(procs) > 0 {
		t.Errorf("processes left after fleet down: %v", procs)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("fleet folder still exists after down: %v", err)
	}
	if res := flotilla(t, "fleet", "down", "--dir", dir); res.code != 0 || !strings.Contains(res.stderr, "nothing to stop") {
		t.Errorf("fleet down without a fleet: exit %d, stderr %q", res.code, res.stderr)
	}
	if res := flotilla(t, "fleet", "status", "--dir", dir); res.code != 1 || !strings.Contains(res.stderr, "no fleet") {
		t.Errorf("fleet status without a fleet: exit %d, stderr %q", res.code, res.stderr)
	}
}

func TestFleetUpRefusesBadInput(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"zero clusters", []string{"--clusters", "0"}, "clusters: 0 is out of range: a fleet has 1 to 20 clusters"},
		{"negative clusters", []string{"--clusters", "-2"}, "clusters: -2 is out of range"},
		{"unwritable dir", []string{"--dir", filepath.Join(file, "fleet")}, "cannot be created"},
		{"bad name", []string{"--name", "UPPER"}, `name prefix "UPPER" is invalid`},
		{"bad output", []string{"-o", "xml"}, `--output "xml" is not one of table, json, yaml`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "fleet")
			args := append([]string{"fleet", "up", "--dir", dir}, tt.args...)
			res := flotilla(t, args...)
			if res.code != 1 || !strings.Contains(res.stderr, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q", res.code, res.stderr, tt.wantErr)
			}
			if procs := fleettest.Processes(dir); len(procs) > 0 {
				t.Errorf("processes started: %v", procs)
			}
		})
	}
}

// TestFleetUpInterrupted sends SIGINT to `fleet up` while the clusters are starting: once it
// exits, nothing it started may be running.
func TestFleetUpInterrupted(t *testing.T) {
	for _, moment := range []string{"starting etcd", "kube-apiserver ready"} {
		t.Run(moment, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "fleet")
			cmd, lines := startFleetUp(t, dir)
			waitForLine(t, lines, moment)
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			var rest []string
			for line := range lines {
				rest = append(rest, line)
			}
			err := cmd.Wait()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Errorf("fleet up after SIGINT: %v, want a non-zero exit", err)
			}
			if !strings.Contains(strings.Join(rest, "\n"), "interrupted: stopped the fleet that was starting") {
				t.Errorf("fleet up did not say it stopped the fleet; it printed:\n%s", strings.Join(rest, "\n"))
			}
			if procs := fleettest.Processes(dir); len(procs) > 0 {
				t.Errorf("processes left after SIGINT during fleet up: %v", procs)
			}
		})
	}
}

// TestFleetUpKilled kills `fleet up` with SIGKILL, so it cannot clean up: the supervisor notices
// that nobody listens any more and stops the fleet by itself.
func TestFleetUpKilled(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fleet")
	cmd, lines := startFleetUp(t, dir)
	waitForLine(t, lines, "starting etcd")
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	fleettest.Eventually(t, 90*time.Second, func() error {
		if procs := fleettest.Processes(dir); len(procs) > 0 {
			return fmt.Errorf("still running: %v", procs)
		}
		return nil
	})
}

func startFleetUp(t *testing.T, dir string) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command(flotillaBin, "fleet", "up", "--clusters", "1", "--dir", dir)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		flotilla(t, "fleet", "down", "--dir", dir)
	})
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		scanner := bufio.NewScanner(stderr)
		for scanner.Scan() {
			lines <- scanner.Text()
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	return cmd, lines
}

func waitForLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	deadline := time.After(2 * time.Minute)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("output ended before a line with %q", want)
			}
			if strings.Contains(line, want) {
				return
			}
		case <-deadline:
			t.Fatalf("no line with %q after 2 minutes", want)
		}
	}
}

func TestVersionAndHelp(t *testing.T) {
	if res := flotilla(t, "--version"); res.code != 0 || !strings.HasPrefix(res.stdout, "flotilla ") {
		t.Errorf("--version: exit %d, stdout %q", res.code, res.stdout)
	}
	help := flotilla(t, "--help")
	for _, want := range []string{"fleet", "--output", "--verbosity"} {
		if !strings.Contains(help.stdout, want) {
			t.Errorf("--help does not mention %q:\n%s", want, help.stdout)
		}
	}
	if strings.Contains(help.stdout, "supervise") {
		t.Errorf("--help shows the internal supervise command")
	}
}
