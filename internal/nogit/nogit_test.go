package nogit

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// git runs git in dir with env, and returns its output and error.
func git(dir string, env []string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(env, "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestDisable: after Disable, git run with the process's environment refuses every transport,
// even a local repository's; Environ gives Flotilla's own git commands the environment before.
func TestDisable(t *testing.T) {
	// What the process had before (restored when the test ends): file allowed, no prompt set.
	t.Setenv("GIT_ALLOW_PROTOCOL", "file")
	t.Setenv("GIT_PROTOCOL_FROM_USER", "1")
	t.Setenv("GIT_TERMINAL_PROMPT", "")
	os.Unsetenv("GIT_TERMINAL_PROMPT")
	root := t.TempDir()
	src, dst := filepath.Join(root, "src"), filepath.Join(root, "dst")
	for _, args := range [][]string{{"init", "-q", src}, {"-C", src, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x"}, {"init", "-q", dst}} {
		if out, err := git(root, os.Environ(), args...); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if err := Disable(); err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{"file://" + src, src, "http://127.0.0.1:1/r.git", "ext::sh -c touch% " + filepath.Join(root, "pwned")} {
		out, err := git(dst, os.Environ(), "fetch", "--depth=1", url, "HEAD")
		if err == nil || !strings.Contains(out, "not allowed") {
			t.Errorf("fetch %s after Disable: %v\n%s", url, err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "pwned")); err == nil {
		t.Error("the ext:: transport ran a command")
	}
	env := Environ()
	if out, err := git(dst, env, "fetch", "--depth=1", "file://"+src, "HEAD"); err != nil {
		t.Errorf("fetch with Environ: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	if got["GIT_ALLOW_PROTOCOL"] != "file" || got["GIT_PROTOCOL_FROM_USER"] != "1" {
		t.Errorf("Environ does not restore the values before Disable: %v", got)
	}
	if _, ok := got["GIT_TERMINAL_PROMPT"]; ok {
		t.Error("Environ sets a variable that was not set before Disable")
	}
}
