package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/clusters/localfleet"
	"github.com/flotilla-dev/flotilla/sources/gitserver"
)

// A `fleet up` leaves the clusters running after it returns, so it cannot hold them itself: a
// supervisor (`flotilla fleet supervise`) holds them; see localfleet.StartSupervised.

// gitURLFile holds the URL of the Git server a supervisor started with --serve-git.
const gitURLFile = "git-url"

// fleetFlags are the options `up` passes on to the supervisor.
type fleetFlags struct {
	dir  string
	opts localfleet.Options
	// gitRoot, when set, has the supervisor also serve the Git repositories in it over HTTP on
	// 127.0.0.1 for as long as the fleet runs (the quickstart's example repository). The URL is
	// written to DIR/git-url.
	gitRoot string
}

func (f *fleetFlags) register(cmd *cobra.Command) {
	f.opts = localfleet.DefaultOptions()
	fleetDirFlag(cmd, &f.dir)
	cmd.Flags().IntVar(&f.opts.Clusters, "clusters", f.opts.Clusters, fmt.Sprintf("number of clusters, 1 to %d (each takes about 400 MB of memory)", localfleet.MaxClusters))
	cmd.Flags().StringVar(&f.opts.NamePrefix, "name", f.opts.NamePrefix, "cluster and context name prefix: clusters are PREFIX-1 … PREFIX-N")
	cmd.Flags().BoolVar(&f.opts.Istio, "istio", f.opts.Istio, "install the Istio CRDs in every cluster")
	cmd.Flags().DurationVar(&f.opts.ReadyTimeout, "timeout", f.opts.ReadyTimeout, "how long each cluster may take to become ready")
	cmd.Flags().StringVar(&f.gitRoot, "serve-git", "", "also serve the Git repositories in this folder on 127.0.0.1 while the fleet runs")
	_ = cmd.Flags().MarkHidden("serve-git")
}

func (f *fleetFlags) args() []string {
	return []string{
		"--dir", f.dir, "--clusters", strconv.Itoa(f.opts.Clusters), "--name", f.opts.NamePrefix,
		"--istio=" + strconv.FormatBool(f.opts.Istio), "--timeout", f.opts.ReadyTimeout.String(),
		"--serve-git", f.gitRoot,
	}
}

func newFleetUpCommand(g *globals) *cobra.Command {
	var flags fleetFlags
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start local clusters and return when every one is ready",
		Long: `Start N real Kubernetes clusters on 127.0.0.1 and return when every one is ready. They
keep running in the background until 'flotilla fleet down'. Contexts in the printed
kubeconfig are named PREFIX-1 … PREFIX-N.`,
		Example: `  flotilla fleet up --clusters 3
  kubectl --kubeconfig ~/.local/state/flotilla/fleet/kubeconfig --context local-2 get nodes
  flotilla fleet down`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runFleetUp(cmd.Context(), g, &flags)
		},
	}
	flags.register(cmd)
	return cmd
}

func runFleetUp(ctx context.Context, g *globals, flags *fleetFlags) error {
	started := time.Now()
	if err := startFleet(ctx, g, flags); err != nil {
		return err
	}
	return printFleetReady(ctx, g, flags.dir, time.Since(started))
}

// startFleet starts the supervisor and returns once the fleet is ready, with flags.dir made
// absolute.
func startFleet(ctx context.Context, g *globals, flags *fleetFlags) error {
	if err := flags.opts.Validate(); err != nil {
		return err
	}
	dir, err := resolveFleetDir(flags.dir)
	if err != nil {
		return err
	}
	if flags.dir, err = localfleet.PrepareDir(ctx, dir, g.stderr); err != nil {
		return err
	}
	if _, err := localfleet.EnsureBinaries(ctx, localfleet.BuildOptions{Progress: g.stderr}); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the flotilla executable: %w", err)
	}
	return localfleet.StartSupervised(ctx, localfleet.SupervisedOptions{
		Dir: flags.dir, Command: append([]string{exe, "fleet", "supervise"}, flags.args()...), Progress: g.stderr,
	})
}

func printFleetReady(ctx context.Context, g *globals, dir string, took time.Duration) error {
	st, err := localfleet.ReadStatus(ctx, dir)
	if err != nil {
		return err
	}
	return printData(g, st, func(w io.Writer) {
		fmt.Fprintf(w, "Fleet %q is ready: %d cluster(s) in %s.\n", st.Name, len(st.Clusters), took.Round(100*time.Millisecond))
		fmt.Fprintf(w, "Kubeconfig: %s\n\n", st.Kubeconfig)
		t := newTable(w)
		fmt.Fprintln(t, "CONTEXT\tSERVER")
		for _, c := range st.Clusters {
			fmt.Fprintf(t, "%s\t%s\n", c.Name, c.Server)
		}
		t.Flush()
		dirFlag := ""
		if def, err := localfleet.DefaultDir(); err != nil || def != dir {
			dirFlag = " --dir " + dir
		}
		fmt.Fprintf(w, "\nTry:   kubectl --kubeconfig %s --context %s get nodes\n", st.Kubeconfig, st.Clusters[0].Name)
		fmt.Fprintf(w, "Stop:  %s fleet down%s\n", invocation(), dirFlag)
	})
}

func newFleetSuperviseCommand(_ *globals) *cobra.Command {
	var flags fleetFlags
	cmd := &cobra.Command{
		Use:    "supervise",
		Short:  "Start a fleet and hold it until SIGTERM (run by `fleet up`)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runFleetSupervise(cmd.Context(), &flags)
		},
	}
	flags.register(cmd)
	return cmd
}

func runFleetSupervise(ctx context.Context, flags *fleetFlags) error {
	opts := localfleet.SuperviseOptions{Fleet: flags.opts}
	opts.Fleet.Dir = flags.dir
	if flags.gitRoot != "" {
		opts.Beside = func() (func(), error) {
			srv, err := gitserver.Start(gitserver.Options{Root: flags.gitRoot, AllowPush: true})
			if err != nil {
				return nil, fmt.Errorf("serve Git repositories: %w", err)
			}
			if err := os.WriteFile(filepath.Join(flags.dir, gitURLFile), []byte(srv.URL+"\n"), 0o644); err != nil {
				srv.Close()
				return nil, fmt.Errorf("serve Git repositories: %w", err)
			}
			fmt.Fprintf(os.Stderr, "serving the Git repositories in %s at %s\n", flags.gitRoot, srv.URL)
			return func() { _ = srv.Close() }, nil
		}
	}
	return localfleet.Supervise(ctx, opts)
}

// invocation is how the user ran this program, for hints: `go run ./cmd/flotilla` when it runs
// from go run's temporary build folder, else `flotilla`.
func invocation() string {
	exe, err := os.Executable()
	if err == nil && strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return "go run ./cmd/flotilla"
	}
	return "flotilla"
}
