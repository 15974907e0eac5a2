//go:build unix

package config

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// loadWithin runs Load and fails the test, rather than hanging, if it does not return in time.
func loadWithin(t *testing.T, path string) (*Config, error) {
	t.Helper()
	type result struct {
		cfg *Config
		err error
	}
	done := make(chan result, 1)
	go func() {
		cfg, err := Load(path)
		done <- result{cfg, err}
	}()
	select {
	case r := <-done:
		return r.cfg, r.err
	case <-time.After(10 * time.Second):
		t.Fatalf("Load(%s) still blocked after 10s", path)
		return nil, nil
	}
}

func mkfifo(t *testing.T, path string) string {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	return path
}

func listenUnix(t *testing.T, path string) string {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Skipf("unix socket: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return path
}

func TestLoadRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := mkfifo(t, filepath.Join(dir, "pipe.yaml"))
	link := filepath.Join(dir, "link.yaml")
	if err := os.Symlink(fifo, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"named pipe", fifo, fifo + " is a named pipe; --config must be a regular file or a folder"},
		{"symlink to a named pipe", link, link + " is a named pipe; --config must be a regular file or a folder"},
		{"socket", listenUnix(t, filepath.Join(dir, "s.sock")), "is a socket; --config must be a regular file or a folder"},
		{"character device", os.DevNull, os.DevNull + " is a character device; --config must be a regular file or a folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadWithin(t, tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load(%s): err = %v, want %q", tt.path, err, tt.want)
			}
		})
	}
}

// TestLoadFolderRefusesSpecialFiles: a .yaml entry of a folder that is not a regular file, or a
// symbolic link to one, is reported as a problem without being opened; the other files still load
// and are checked.
func TestLoadFolderRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "1-source.yaml"), []byte(doc("Source", "s", goodSource)), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := mkfifo(t, filepath.Join(dir, "2-pipe.yaml"))
	if err := os.Symlink(fifo, filepath.Join(dir, "3-link.yml")); err != nil {
		t.Fatal(err)
	}
	listenUnix(t, filepath.Join(dir, "4.yaml"))
	mkfifo(t, filepath.Join(dir, "ignored.fifo")) // not .yaml: never looked at
	if err := os.Mkdir(filepath.Join(dir, "5-folder.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}

	_, err := loadWithin(t, dir)
	if err == nil {
		t.Fatal("Load accepted a folder with a named pipe")
	}
	msg := err.Error()
	for _, want := range []string{
		filepath.Join(dir, "2-pipe.yaml") + ": is a named pipe; configuration files must be regular files",
		filepath.Join(dir, "3-link.yml") + ": is a named pipe; configuration files must be regular files",
		filepath.Join(dir, "4.yaml") + ": is a socket; configuration files must be regular files",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not contain %q:\n%s", want, msg)
		}
	}
	for _, unwanted := range []string{"ignored.fifo", "5-folder.yaml", "1-source.yaml"} {
		if strings.Contains(msg, unwanted) {
			t.Errorf("error mentions %s:\n%s", unwanted, msg)
		}
	}
}

// TestReadConfigFileRechecksAfterOpen: a file that became a named pipe after it was checked is
// opened without blocking and refused by the check on the open file.
func TestReadConfigFileRechecksAfterOpen(t *testing.T) {
	fifo := mkfifo(t, filepath.Join(t.TempDir(), "swapped.yaml"))
	done := make(chan error, 1)
	go func() {
		_, err := readOpened(fifo)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "is a named pipe") {
			t.Errorf("readOpened(fifo): err = %v, want it to say it is a named pipe", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("readOpened(fifo) blocked")
	}
}
