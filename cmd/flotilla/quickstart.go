package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/clusters/localfleet"
	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/reconciler"
	"github.com/flotilla-dev/flotilla/server"
)

func newQuickstartCommand(g *globals) *cobra.Command {
	var dir string
	var noAgent bool
	var listen string
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: "Start three local clusters, sync the example fleet repository to them, run the agent",
		Long: `Start three real local clusters (dev, staging, prod), serve the example fleet
repository (bookinfo and its Istio policy) from Git on 127.0.0.1, sync it to every cluster and
wait until it is healthy. Then print what to try next, and run the agent in the foreground on
the quickstart's configuration (see flotilla agent --help) until Ctrl-C: a git push to the
example repository arrives on the clusters within seconds, and a kubectl edit of a managed
object is taken back. Ctrl-C stops the agent; the clusters keep running. With --no-agent,
quickstart ends after the sync (for scripts, or to try flotilla diff and flotilla sync by hand).

Everything lives in --dir. Running quickstart again reuses the fleet: parts of it that stopped
(a crashed or killed API server, or the whole fleet after a reboot) start again with their
data, then it syncs again. The example repository (a work tree in DIR/fleet-repo, pushed to
DIR/git) is made once and then kept, with your commits: 'flotilla fleet down' stops the
clusters and keeps it for the next quickstart; 'flotilla fleet down --purge' removes it too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := runQuickstart(cmd.Context(), g, dir, !noAgent); err != nil || noAgent {
				return err
			}
			dir, err := resolveFleetDir(dir)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.stderr, "\nThe agent keeps the fleet equal to Git; Ctrl-C stops it (the clusters keep running).")
			var f agentFlags
			f.config.path, f.logFormat, f.listen = filepath.Join(dir, "flotilla.yaml"), "text", listen
			f.workers = reconciler.DefaultAgentOptions().Workers
			return runAgent(cmd.Context(), g, f)
		},
	}
	fleetDirFlag(cmd, &dir)
	cmd.Flags().BoolVar(&noAgent, "no-agent", false, "end after the sync instead of running the agent until Ctrl-C")
	cmd.Flags().StringVar(&listen, "listen", server.DefaultListen, "address of the agent's status API, webhooks and metrics")
	return cmd
}

// runQuickstart brings the fleet up, publishes the example repository, syncs it and prints the
// next steps: for the agent that follows when withAgent, or for diff and sync by hand.
func runQuickstart(ctx context.Context, g *globals, dir string, withAgent bool) error {
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
	work := filepath.Join(dir, quickstartRepoDir)
	if err := publishExamples(ctx, filepath.Join(dir, quickstartGitDir, "fleet.git"), work, repoURL); err != nil {
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
	syncer := reconciler.NewSyncer(filepath.Join(dir, "cache"))
	// Recorded in the change ledger of the agent's state folder, as flotilla sync is.
	ledger, _, err := openStateLedger(ctx, "", g.logger)
	if err != nil {
		return err
	}
	defer ledger.Close()
	syncer.Ledger = ledger
	results, err := syncer.Sync(ctx, cfg, reconciler.Options{Wait: true, Observer: reconciler.ProgressLines(g.stderr),
		Cause: reconciler.Cause{Trigger: history.TriggerManual, Actor: cliActor(), Reason: "quickstart"}})
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stderr, "4/4 done in %s\n", time.Since(started).Round(100*time.Millisecond))
	if err := printData(g, results, func(w io.Writer) {
		printQuickstart(w, results, quickstartPaths{dir: dir, config: configPath, work: work}, withAgent)
	}); err != nil {
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

// The quickstart's example repository, in the fleet's folder: a bare repository that the
// fleet's Git server serves, and the work tree the user edits and pushes from. `fleet down`
// keeps both unless --purge.
const (
	quickstartGitDir  = "git"
	quickstartRepoDir = "fleet-repo"
)

var quickstartRepository = []string{quickstartRepoDir, quickstartGitDir}

// quickstartFleet brings up the three-cluster fleet with a Git server: it starts one, restarts
// the stopped parts of the running one, or starts the stopped one again with its data.
func quickstartFleet(ctx context.Context, g *globals, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	flags := &fleetFlags{dir: abs, opts: localfleet.DefaultOptions(), gitRoot: filepath.Join(abs, quickstartGitDir)}
	flags.opts.Clusters = 3
	st, err := localfleet.ReadStatus(ctx, abs)
	switch {
	case err == nil && len(st.Clusters) > 0 && (!servesGit(st) || len(st.Clusters) != 3 || st.Name != flags.opts.NamePrefix):
		return fmt.Errorf("a fleet that quickstart did not start is in %s; stop it with `%s fleet down%s`, or pass another --dir", abs, invocation(), dirArg(abs))
	case err != nil && !errors.Is(err, localfleet.ErrNoFleet):
		return err
	}
	if _, err := localfleet.ClaimDir(abs); err != nil {
		return err
	}
	if err := os.MkdirAll(flags.gitRoot, 0o755); err != nil {
		return err
	}
	done, err := bringUpFleet(ctx, g, flags)
	if err != nil {
		return err
	}
	switch {
	case done.how == "resumed":
		fmt.Fprintf(g.stderr, "    started the stopped fleet again, with its data\n")
	case done.how == "restarted" && len(done.restarted) > 0:
		fmt.Fprintf(g.stderr, "    restarted what had stopped: %s\n", strings.Join(done.restarted, ", "))
	case done.how == "restarted":
		fmt.Fprintf(g.stderr, "    reusing the running fleet\n")
	}
	return nil
}

// quickstartPaths are where the quickstart put its fleet, configuration and work tree.
type quickstartPaths struct{ dir, config, work string }

func printQuickstart(w io.Writer, results []reconciler.Result, p quickstartPaths, withAgent bool) {
	printSyncResults(w, results)
	kubeconfig := filepath.Join(p.dir, kubeconfigFile)
	fmt.Fprintf(w, `
bookinfo runs on three clusters: dev (context local-1), staging (local-2) and prod (local-3).

Look at it:
  kubectl --kubeconfig %[1]s --context local-3 -n bookinfo get deployments
  kubectl --kubeconfig %[1]s --context local-2 -n bookinfo get virtualservice reviews -o yaml
`, kubeconfig)
	if withAgent {
		fmt.Fprintf(w, `
The agent runs below until Ctrl-C. In another terminal, change the example repository (its work
tree is %[2]s) and watch the change arrive on staging within seconds:
  sed -i 's/value: 90}/value: 70}/; s/value: 10}/value: 30}/' %[2]s/overlays/staging/kustomization.yaml
  git -C %[2]s commit -qam "staging: 30%% canary" && git -C %[2]s push -q
  %[3]s status           # staging's REVISION becomes the new commit

Scale a Deployment and watch the agent take it back (drift.mode: enforce):
  kubectl --kubeconfig %[1]s --context local-1 -n bookinfo scale deployment/reviews-v1 --replicas=3
  kubectl --kubeconfig %[1]s --context local-1 -n bookinfo get deployment/reviews-v1
`, kubeconfig, p.work, invocation())
	} else {
		fmt.Fprintf(w, `
Change it the GitOps way (the example repository's work tree is %[2]s):
  sed -i 's/value: 90}/value: 70}/; s/value: 10}/value: 30}/' %[2]s/overlays/staging/kustomization.yaml
  git -C %[2]s commit -qam "staging: 30%% canary" && git -C %[2]s push -q
  %[3]s diff --config %[4]s      # what would change, per cluster
  %[3]s sync --config %[4]s      # make it so

Drift is visible too: edit an object with kubectl, then run diff again. Or let the agent keep
the fleet equal to Git: push a change and watch it arrive, scale a Deployment and watch it
come back (Ctrl-C stops the agent, the clusters keep running):
  %[3]s agent --config %[4]s
  %[3]s status
`, kubeconfig, p.work, invocation(), p.config)
	}
	fmt.Fprintf(w, `
Every change is in the ledger: who, which commit, what changed. Put a cluster back on an earlier
revision (it stays there until a newer commit, even with the agent on):
  %[1]s history --cluster staging
  %[1]s rollback --config %[2]s --app bookinfo --cluster staging --steps 1 --reason "canary too early"

See what runs; bring back a part that stopped (or the fleet after a reboot), with its data:
  %[1]s fleet status%[3]s
  %[1]s fleet up%[3]s

Stop the clusters; the example repository and your commits stay for the next quickstart:
  %[1]s fleet down%[3]s           # --purge removes the repository too
`, invocation(), p.config, dirArg(p.dir))
}
