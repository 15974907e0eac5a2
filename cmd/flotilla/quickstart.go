package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/clusters/localfleet"
	"github.com/flotilla-dev/flotilla/examples"
	"github.com/flotilla-dev/flotilla/reconciler"
)

func newQuickstartCommand(g *globals) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: "Start three local clusters and sync the example fleet repository to them",
		Long: `Start three real local clusters (dev, staging, prod), serve the example fleet
repository (bookinfo and its Istio policy) from Git on 127.0.0.1, sync it to every cluster and
wait until it is healthy. Then print what to try next.

Everything lives in --dir; 'flotilla fleet down' stops it all and removes it. Running
quickstart again reuses the running fleet and syncs again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runQuickstart(cmd.Context(), g, dir)
		},
	}
	fleetDirFlag(cmd, &dir)
	return cmd
}

func runQuickstart(ctx context.Context, g *globals, dir string) error {
	started := time.Now()
	dir, err := resolveFleetDir(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stderr, "1/4 local clusters in %s\n", dir)
	if err := quickstartFleet(ctx, g, dir); err != nil {
		return err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return err
	}
	gitURL, err := os.ReadFile(filepath.Join(dir, gitURLFile))
	if err != nil {
		return fmt.Errorf("the fleet in %s serves no Git repository: %w", dir, err)
	}
	repoURL := strings.TrimSpace(string(gitURL)) + "/fleet.git"
	fmt.Fprintf(g.stderr, "2/4 example fleet repository at %s\n", repoURL)
	work := filepath.Join(dir, "fleet-repo")
	if err := publishExamples(ctx, filepath.Join(dir, "git", "fleet.git"), work, repoURL); err != nil {
		return err
	}
	configPath := filepath.Join(dir, "flotilla.yaml")
	if err := writeQuickstartConfig(configPath, repoURL, filepath.Join(dir, kubeconfigFile)); err != nil {
		return err
	}
	cfg, err := (&configFlags{path: configPath}).load(g)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stderr, "3/4 syncing App/bookinfo to dev, staging and prod\n")
	results, err := reconciler.NewSyncer(filepath.Join(dir, "cache")).Sync(ctx, cfg, reconciler.Options{Wait: true, Observer: reconciler.ProgressLines(g.stderr)})
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stderr, "4/4 done in %s\n", time.Since(started).Round(100*time.Millisecond))
	if err := printData(g, results, func(w io.Writer) { printQuickstart(w, results, dir, configPath, work) }); err != nil {
		return err
	}
	for _, r := range results {
		if r.Status != reconciler.StatusHealthy {
			return exitError{code: 1}
		}
	}
	return nil
}

const kubeconfigFile = "kubeconfig"

// quickstartFleet starts the three-cluster fleet with a Git server, or reuses a running one
// that has both.
func quickstartFleet(ctx context.Context, g *globals, dir string) error {
	st, err := localfleet.ReadStatus(ctx, dir)
	if err == nil && st.Running {
		if _, urlErr := os.Stat(filepath.Join(dir, gitURLFile)); urlErr != nil || len(st.Clusters) != 3 {
			return fmt.Errorf("a fleet that quickstart did not start runs in %s; stop it with `%s fleet down --dir %s`, or pass another --dir", dir, invocation(), dir)
		}
		fmt.Fprintf(g.stderr, "    reusing the running fleet\n")
		return nil
	}
	if err != nil && !errors.Is(err, localfleet.ErrNoFleet) {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	flags := &fleetFlags{dir: abs, opts: localfleet.DefaultOptions(), gitRoot: filepath.Join(abs, "git")}
	flags.opts.Clusters = 3
	if _, err := localfleet.ClaimDir(abs); err != nil {
		return err
	}
	if err := os.MkdirAll(flags.gitRoot, 0o755); err != nil {
		return err
	}
	return startFleet(ctx, g, flags)
}

// publishExamples makes the embedded examples a Git repository: a bare repository that the
// fleet's Git server serves, and a work tree to edit and push from. An existing work tree is
// kept, so that a second quickstart does not undo the user's commits.
func publishExamples(ctx context.Context, bare, work, url string) error {
	if _, err := os.Stat(filepath.Join(work, ".git")); err == nil {
		return nil
	}
	gitEnv := []string{"GIT_AUTHOR_NAME=Flotilla Quickstart", "GIT_AUTHOR_EMAIL=quickstart@flotilla.dev",
		"GIT_COMMITTER_NAME=Flotilla Quickstart", "GIT_COMMITTER_EMAIL=quickstart@flotilla.dev"}
	run := func(dir string, args ...string) error {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), gitEnv...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(bare), 0o755); err != nil {
		return err
	}
	if err := run(filepath.Dir(bare), "init", "--quiet", "--bare", "--initial-branch=main", bare); err != nil {
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
		{"add", "-A"},
		{"commit", "--quiet", "-m", "The example fleet: bookinfo and its Istio policy"},
		{"remote", "add", "origin", url},
		{"push", "--quiet", "--set-upstream", "origin", "main"},
	} {
		if err := run(work, args...); err != nil {
			return err
		}
	}
	return nil
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
	return os.WriteFile(path, []byte(text), 0o644)
}

func printQuickstart(w io.Writer, results []reconciler.Result, dir, configPath, work string) {
	printSyncResults(w, results)
	kubeconfig := filepath.Join(dir, kubeconfigFile)
	dirFlag := ""
	if def, err := localfleet.DefaultDir(); err != nil || def != dir {
		dirFlag = " --dir " + dir
	}
	cmd := invocation()
	fmt.Fprintf(w, `
bookinfo runs on three clusters: dev (context local-1), staging (local-2) and prod (local-3).

Look at it:
  kubectl --kubeconfig %[1]s --context local-3 -n bookinfo get deployments
  kubectl --kubeconfig %[1]s --context local-2 -n bookinfo get virtualservice reviews -o yaml

Change it the GitOps way (the example repository's work tree is %[2]s):
  sed -i 's/value: 90}/value: 70}/; s/value: 10}/value: 30}/' %[2]s/overlays/staging/kustomization.yaml
  git -C %[2]s commit -qam "staging: 30%% canary" && git -C %[2]s push -q
  %[3]s diff --config %[4]s      # what would change, per cluster
  %[3]s sync --config %[4]s      # make it so

Drift is visible too: edit an object with kubectl, then run diff again.

Stop everything and remove it:
  %[3]s fleet down%[5]s
`, kubeconfig, work, cmd, configPath, dirFlag)
}
