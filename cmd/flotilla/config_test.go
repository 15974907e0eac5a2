//go:build unix

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestConfigRefusesNamedPipe: --config naming a named pipe fails at once, naming it, instead of
// waiting for a writer.
func TestConfigRefusesNamedPipe(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "flotilla.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	want := fifo + " is a named pipe; --config must be a regular file or a folder"
	for _, args := range [][]string{
		{"sources", "check", "--config", fifo},
		{"diff", "--config", fifo},
	} {
		res := flotilla(t, args...)
		if res.code == 0 || !strings.Contains(res.stderr, want) {
			t.Errorf("flotilla %s: exit %d, stderr %q; want %q", strings.Join(args, " "), res.code, res.stderr, want)
		}
	}
}

// TestSourcesCheckRedactsURLUser: a user name in an https or http URL may be an access token;
// `sources check` shows the URL and fetch errors without it.
func TestSourcesCheckRedactsURLUser(t *testing.T) {
	const token = "ghp_s3cretTOKENvalue"
	dir := t.TempDir()
	cfg := filepath.Join(dir, "flotilla.yaml")
	err := os.WriteFile(cfg, []byte(`apiVersion: flotilla.dev/v1alpha1
kind: Source
metadata: {name: fleet}
spec:
  url: http://`+token+`@127.0.0.1:1/fleet.git
  ref: {branch: main}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	res := flotilla(t, "sources", "check", "--config", cfg, "--cache-dir", t.TempDir(), "-o", "json")
	var rows []struct {
		URL   string `json:"url"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &rows); err != nil || res.code != 1 || len(rows) != 1 {
		t.Fatalf("sources check: exit %d, %v\n%s%s", res.code, err, res.stdout, res.stderr)
	}
	if rows[0].URL != "http://***@127.0.0.1:1/fleet.git" || rows[0].Error == "" {
		t.Errorf("sources check = %+v; want the URL redacted and an error", rows[0])
	}
	table := flotilla(t, "sources", "check", "--config", cfg, "--cache-dir", t.TempDir())
	for _, out := range []string{res.stdout + res.stderr, table.stdout + table.stderr} {
		if strings.Contains(out, token) {
			t.Errorf("sources check shows the token:\n%s", out)
		}
	}
}
