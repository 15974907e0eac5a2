//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRenderEndsOnSIGTERM: a busy render (kustomize's name-reference pass is quadratic in the
// objects of one kustomization: 10,000 ConfigMaps with a name prefix take minutes) ends soon
// after SIGTERM, with 128+15 as a shell would report it.
func TestRenderEndsOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	var many strings.Builder
	for i := range 10_000 {
		fmt.Fprintf(&many, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d}\ndata: {k: v}\n", i)
	}
	writeFile(t, filepath.Join(dir, "many.yaml"), many.String())
	writeFile(t, filepath.Join(dir, "kustomization.yaml"), "resources: [many.yaml]\nnamePrefix: x-\n")

	cmd := exec.Command(flotillaBin, "render", dir, "--root", dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill() // already gone when the test passes
	// Busy: wait until the render has used two seconds of CPU (it needs minutes to finish).
	deadline := time.Now().Add(2 * time.Minute)
	for cpuTicks(t, cmd.Process.Pid) < 200 {
		if time.Now().After(deadline) {
			t.Fatal("the render never got busy")
		}
		select {
		case err := <-exited:
			t.Fatalf("the render ended before the signal: %v\n%s", err, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 128+15 {
			t.Fatalf("exit: %v, want code 143\n%s", err, stderr.String())
		}
		if !strings.Contains(stderr.String(), "render stopped: terminated received") {
			t.Errorf("stderr does not say why it stopped:\n%s", stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10 s after SIGTERM\n%s", stderr.String())
	}
}

// cpuTicks is the user and system CPU time a process used, in clock ticks (1/100 s).
func cpuTicks(t *testing.T, pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0 // exited
	}
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	utime, _ := strconv.Atoi(fields[11])
	stime, _ := strconv.Atoi(fields[12])
	return utime + stime
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
