package localfleet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestReadyzHealth(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		name          string
		body          string
		err           error
		ready, goAway bool
		reason        string
	}{
		{name: "ready", body: "[+]ping ok\nreadyz check passed\n", ready: true},
		{name: "refused", err: fmt.Errorf("Get \"https://127.0.0.1:1/readyz\": %w", refused), goAway: true, reason: "refuses connections"},
		{name: "shutting down", body: "[+]ping ok\n[-]shutdown failed: reason withheld\n[+]etcd ok\nreadyz check failed\n", err: errors.New("the server is currently unable to handle the request"), goAway: true, reason: "shutting down"},
		{name: "etcd down", body: "[+]ping ok\n[-]etcd failed: reason withheld\n[-]etcd-readiness failed: reason withheld\n", err: errors.New("unavailable"), reason: "/readyz failed: etcd, etcd-readiness"},
		{name: "timeout", err: errors.New("context deadline exceeded"), reason: "/readyz: context deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := readyzHealth([]byte(tt.body), tt.err)
			if h.ready != tt.ready || h.goingAway != tt.goAway || !strings.Contains(h.reason, tt.reason) {
				t.Errorf("readyzHealth = %+v, want ready %t, going away %t, reason containing %q", h, tt.ready, tt.goAway, tt.reason)
			}
		})
	}
}

func TestStatusNotReady(t *testing.T) {
	whole := func() *Status {
		return &Status{
			Running: true, Etcd: EtcdStatus{Ready: true},
			Clusters: []ClusterStatus{{Name: "a", Ready: true}, {Name: "b", Ready: true}},
			Services: []ServiceStatus{{Name: "git", Ready: true}},
		}
	}
	if got := whole().NotReady(); got != nil {
		t.Errorf("a whole fleet: NotReady = %v", got)
	}
	st := whole()
	st.Clusters[1].Ready, st.Services[0].Ready = false, false
	if got, want := st.NotReady(), []string{"b", "git"}; !slices.Equal(got, want) {
		t.Errorf("NotReady = %v, want %v", got, want)
	}
	st = whole()
	st.Running, st.Etcd.Ready = false, false
	if got, want := st.NotReady(), []string{"fleet", "etcd"}; !slices.Equal(got, want) {
		t.Errorf("a fleet whose holder is gone: NotReady = %v, want %v", got, want)
	}
}

// TestControlSocketInADeepFolder: a Unix socket address holds about 107 bytes; the supervisor's
// socket in a deeper folder still works, and only its owner may connect.
func TestControlSocketInADeepFolder(t *testing.T) {
	dir := t.TempDir()
	for len(dir) < 150 {
		dir = filepath.Join(dir, "a-rather-long-folder-name")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := listenControl(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, controlSocketName)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket %s: %v, %v; want mode 0600", path, fi, err)
	}
	accepted := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			conn.Close()
		}
		accepted <- err
	}()
	err = withSocketPath(dir, func(addr string) error {
		conn, err := net.Dial("unix", addr)
		if err == nil {
			conn.Close()
		}
		return err
	})
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	if err := <-accepted; err != nil {
		t.Fatal(err)
	}
	closeControl(dir, ln)
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket still there after closeControl: %v", err)
	}
}

func TestRestartSupervisedWithoutSupervisor(t *testing.T) {
	dir := t.TempDir()
	_, err := RestartSupervised(context.Background(), dir, nil)
	if err == nil || !strings.Contains(err.Error(), "fleet down --dir "+dir) {
		t.Errorf("error = %v, want one that says how to stop the fleet", err)
	}
}

// TestDownKeepsWhatItIsAsked: Down leaves the named entries and the marker, removes the rest,
// and removes the whole folder when nothing is to be kept.
func TestDownKeepsWhatItIsAsked(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fleet")
	if _, err := ClaimDir(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"fleet-repo/.git/HEAD", "git/fleet.git/HEAD", "flotilla.yaml", "etcd/member/wal", "git-url"} {
		writeTestFile(t, filepath.Join(dir, name))
	}
	res, err := Down(context.Background(), dir, DownOptions{Keep: []string{"fleet-repo", "git", "missing"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(dir, "fleet-repo"), filepath.Join(dir, "git")}; !slices.Equal(res.Kept, want) || res.Stopped {
		t.Errorf("Down = %+v, want kept %v and nothing stopped", res, want)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{markerFile, "fleet-repo", "git"}; !slices.Equal(names, want) {
		t.Errorf("after Down the folder holds %v, want %v", names, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "fleet-repo/.git/HEAD")); err != nil {
		t.Errorf("the kept work tree lost a file: %v", err)
	}

	if _, err := Down(context.Background(), dir, DownOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the folder is still there after Down without Keep: %v", err)
	}
	if _, err := Down(context.Background(), dir, DownOptions{}); !errors.Is(err, ErrNoFleet) {
		t.Errorf("Down of a removed folder = %v, want ErrNoFleet", err)
	}
}

func writeTestFile(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
