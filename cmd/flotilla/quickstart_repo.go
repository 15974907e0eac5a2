package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/flotilla-dev/flotilla/examples"
	"github.com/flotilla-dev/flotilla/internal/nogit"
)

// The quickstart's example repository: made once from the embedded examples, then kept with the
// user's commits, by a second quickstart and by `fleet down` (unless --purge).

// publishExamples makes the embedded examples a Git repository: a bare repository that the
// fleet's Git server serves, and a work tree to edit and push from. An existing work tree is
// kept, so that a second quickstart does not undo the user's commits; see republish.
func publishExamples(ctx context.Context, bare, work, url string) error {
	if _, err := os.Stat(filepath.Join(work, ".git")); err == nil {
		return republish(ctx, bare, work, url)
	}
	if err := initBare(ctx, bare); err != nil {
		return err
	}
	err := fs.WalkDir(examples.Files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := examples.Files.ReadFile(path)
		if err != nil {
			return err
		}
		full := filepath.Join(work, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		return os.WriteFile(full, b, 0o644)
	})
	if err != nil {
		return fmt.Errorf("write the example repository: %w", err)
	}
	for _, args := range [][]string{
		{"init", "--quiet", "--initial-branch=main"},
	} {
		if err := runGit(ctx, work, args...); err != nil {
			return err
		}
	}
	if err := ensureIdentity(ctx, work); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"add", "-A"},
		{"commit", "--quiet", "-m", "The example fleet: bookinfo and its Istio policy"},
		{"remote", "add", "origin", url},
		{"push", "--quiet", "--set-upstream", "origin", "main"},
	} {
		if err := runGit(ctx, work, args...); err != nil {
			return err
		}
	}
	return nil
}

// republish serves a kept work tree again: its origin points at url (the Git server's port
// changes when a fleet starts anew), and a bare repository that is gone is made again from it.
func republish(ctx context.Context, bare, work, url string) error {
	if err := setOrigin(ctx, work, url); err != nil {
		return err
	}
	if err := ensureIdentity(ctx, work); err != nil {
		return err
	}
	if _, err := os.Stat(bare); err == nil {
		return nil
	}
	if err := initBare(ctx, bare); err != nil {
		return err
	}
	return runGit(ctx, work, "push", "--quiet", "--set-upstream", "origin", "main")
}

func initBare(ctx context.Context, bare string) error {
	if err := os.MkdirAll(filepath.Dir(bare), 0o755); err != nil {
		return err
	}
	return runGit(ctx, filepath.Dir(bare), "init", "--quiet", "--bare", "--initial-branch=main", bare)
}

// ensureIdentity gives the work tree a committer when git knows none (a new machine), so that the
// printed `git commit` works; a user's own identity, global or in the work tree, is left alone.
func ensureIdentity(ctx context.Context, work string) error {
	get := exec.CommandContext(ctx, "git", "config", "user.email")
	get.Dir = work
	if out, err := get.Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		return nil
	}
	for _, kv := range [][2]string{{"user.name", "Flotilla Quickstart"}, {"user.email", "quickstart@flotilla.dev"}} {
		if err := runGit(ctx, work, "config", kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// runGit runs git in dir as the quickstart's author, in the environment before nogit.Disable
// (it pushes to the fleet's Git server).
func runGit(ctx context.Context, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(nogit.Environ(), "GIT_AUTHOR_NAME=Flotilla Quickstart", "GIT_AUTHOR_EMAIL=quickstart@flotilla.dev",
		"GIT_COMMITTER_NAME=Flotilla Quickstart", "GIT_COMMITTER_EMAIL=quickstart@flotilla.dev")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// followGitServer points the quickstart's files at the fleet's Git server when its URL is no
// longer oldURL (a resumed fleet serves Git on a fresh port): the Source in flotilla.yaml and the
// work tree's origin.
func followGitServer(ctx context.Context, dir, oldURL string) error {
	b, err := os.ReadFile(filepath.Join(dir, gitURLFile))
	if err != nil {
		return fmt.Errorf("the fleet in %s serves no Git repository: %w", dir, err)
	}
	newURL := strings.TrimSpace(string(b))
	if oldURL == "" || oldURL == newURL {
		return nil
	}
	configPath := filepath.Join(dir, "flotilla.yaml")
	if config, err := os.ReadFile(configPath); err == nil {
		updated := strings.ReplaceAll(string(config), oldURL+"/", newURL+"/")
		if err := os.WriteFile(configPath, []byte(updated), 0o644); err != nil {
			return fmt.Errorf("point %s at the Git server: %w", configPath, err)
		}
	}
	return setOrigin(ctx, filepath.Join(dir, quickstartRepoDir), newURL+"/fleet.git")
}

// setOrigin points a work tree's origin at url, if the work tree exists.
func setOrigin(ctx context.Context, work, url string) error {
	if _, err := os.Stat(filepath.Join(work, ".git")); err != nil {
		return nil
	}
	return runGit(ctx, work, "remote", "set-url", "origin", url)
}

// writeQuickstartConfig writes the examples' flotilla.yaml with the served URL and the fleet's
// kubeconfig.
func writeQuickstartConfig(path, repoURL, kubeconfig string) error {
	b, err := examples.Files.ReadFile("flotilla.yaml")
	if err != nil {
		return err
	}
	text := strings.ReplaceAll(string(b), "https://git.example.com/you/fleet.git", repoURL)
	text = strings.ReplaceAll(text, "~/.local/state/flotilla/fleet/kubeconfig", kubeconfig)
	// The agent polls the local Git server often: a push arrives within seconds.
	text = strings.Replace(text, "  interval: 1m\n", "  interval: 10s\n", 1)
	return os.WriteFile(path, []byte(text), 0o644)
}
