package main

import (
	"context"
	"errors"
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
	// explicit says whether a flag was given on the command line; nil means none was.
	explicit func(name string) bool
}

func (f *fleetFlags) register(cmd *cobra.Command) {
	f.opts = localfleet.DefaultOptions()
	f.explicit = func(name string) bool { return cmd.Flags().Changed(name) }
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

// given reports whether the flag was on the command line.
func (f *fleetFlags) given(name string) bool { return f.explicit != nil && f.explicit(name) }

// adopt takes the shape of the fleet that dir holds (clusters, names, Istio, a Git server), so
// that `fleet up` brings that fleet back as it was. Flags given on the command line that
// describe another fleet are refused: changing a fleet takes `fleet down` first.
func (f *fleetFlags) adopt(st *localfleet.Status) error {
	var conflicts []string
	if f.given("clusters") && f.opts.Clusters != len(st.Clusters) {
		conflicts = append(conflicts, fmt.Sprintf("--clusters %d", f.opts.Clusters))
	}
	if f.given("name") && f.opts.NamePrefix != st.Name {
		conflicts = append(conflicts, "--name "+f.opts.NamePrefix)
	}
	if f.given("istio") && f.opts.Istio != st.Istio {
		conflicts = append(conflicts, "--istio="+strconv.FormatBool(f.opts.Istio))
	}
	if len(conflicts) > 0 {
		what := fmt.Sprintf("%d cluster(s) named %s-1 … %s-%d", len(st.Clusters), st.Name, st.Name, len(st.Clusters))
		if st.Running {
			return fmt.Errorf("%s: %w, with %s; `fleet up` restarts what stopped in it but does not change it (%s); stop it first with `%s fleet down%s`, or choose another --dir",
				st.Dir, localfleet.ErrFleetRunning, what, strings.Join(conflicts, " "), invocation(), dirArg(st.Dir))
		}
		return fmt.Errorf("%s holds a stopped fleet of %s; `fleet up` starts it again as it was, with its data (%s differs); remove it first with `%s fleet down%s`, or choose another --dir",
			st.Dir, what, strings.Join(conflicts, " "), invocation(), dirArg(st.Dir))
	}
	f.opts.Clusters, f.opts.NamePrefix, f.opts.Istio = len(st.Clusters), st.Name, st.Istio
	if f.gitRoot == "" && servesGit(st) {
		f.gitRoot = filepath.Join(st.Dir, quickstartGitDir)
	}
	return nil
}

func newFleetUpCommand(g *globals) *cobra.Command {
	var flags fleetFlags
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start local clusters, or bring back the parts of a fleet that stopped",
		Long: `Start N real Kubernetes clusters on 127.0.0.1 and return when every one is ready. They
keep running in the background until 'flotilla fleet down'. Contexts in the printed
kubeconfig are named PREFIX-1 … PREFIX-N.

On a folder that already holds a fleet, 'up' brings that fleet back as it was instead, and
keeps its data (objects in the clusters), certificates, token and ports:
  - parts that stopped (etcd, or a cluster's kube-apiserver, kube-controller-manager,
    kube-scheduler or kwok: a crash, an OOM kill, a kill) and API servers that are shutting
    down start again; the others keep running;
  - a fleet whose supervisor is gone (killed, or after a reboot) starts again from its data;
  - a fleet that is whole is left alone.
Flags that describe another fleet (--clusters, --name, --istio) are refused then: run
'flotilla fleet down' first to change it.`,
		Example: `  flotilla fleet up --clusters 3
  kubectl --kubeconfig ~/.local/state/flotilla/fleet/kubeconfig --context local-2 get nodes
  flotilla fleet status
  flotilla fleet up          # bring back whatever stopped
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
	done, err := bringUpFleet(ctx, g, flags)
	if err != nil {
		return err
	}
	return printFleetReady(ctx, g, flags.dir, done, time.Since(started))
}

// upOutcome says what bringUpFleet did.
type upOutcome struct {
	// how is "started" (a new fleet), "resumed" (a stopped one, from its data) or
	// "restarted" (the stopped parts of a running one: restarted, none if it was whole).
	how       string
	restarted []string
}

// bringUpFleet makes the fleet in flags.dir whole and ready: it starts one if there is none,
// restarts the stopped parts of a running one, or resumes one whose supervisor is gone, with
// its data. flags.dir ends up absolute.
func bringUpFleet(ctx context.Context, g *globals, flags *fleetFlags) (upOutcome, error) {
	if err := flags.opts.Validate(); err != nil {
		return upOutcome{}, err
	}
	dir, err := resolveFleetDir(flags.dir)
	if err != nil {
		return upOutcome{}, err
	}
	flags.dir = dir
	st, err := localfleet.ReadStatus(ctx, dir)
	switch {
	case errors.Is(err, localfleet.ErrNoFleet) || (err == nil && !st.Running && len(st.Clusters) == 0):
		return upOutcome{how: "started"}, startFleet(ctx, g, flags)
	case err != nil:
		return upOutcome{}, err
	case len(st.Clusters) == 0:
		return upOutcome{}, fmt.Errorf("%s: %w: it is still starting (held by pid %d)", dir, localfleet.ErrFleetRunning, st.HolderPID)
	}
	if err := flags.adopt(st); err != nil {
		return upOutcome{}, err
	}
	if st.Running {
		restarted, err := localfleet.RestartSupervised(ctx, dir, g.stderr)
		return upOutcome{how: "restarted", restarted: restarted}, err
	}
	fmt.Fprintf(g.stderr, "Starting the stopped fleet in %s again, with its data\n", dir)
	oldGit := gitServerURL(st)
	if err := startFleet(ctx, g, flags); err != nil {
		return upOutcome{}, err
	}
	if flags.gitRoot != "" {
		if err := followGitServer(ctx, dir, oldGit); err != nil {
			return upOutcome{}, err
		}
	}
	return upOutcome{how: "resumed"}, nil
}

// startFleet starts the supervisor, which starts a fleet or resumes the stopped one in
// flags.dir (an absolute path), and returns once the fleet is ready.
func startFleet(ctx context.Context, g *globals, flags *fleetFlags) error {
	if _, err := localfleet.PrepareDir(ctx, flags.dir); err != nil {
		return err
	}
	if _, err := localfleet.EnsureBinaries(ctx, localfleet.BuildOptions{Progress: g.stderr}); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the flotilla executable: %w", err)
	}
	command := append([]string{exe, "fleet", "supervise", "--resume"}, flags.args()...)
	return localfleet.StartSupervised(ctx, localfleet.SupervisedOptions{Dir: flags.dir, Command: command, Progress: g.stderr})
}

func printFleetReady(ctx context.Context, g *globals, dir string, done upOutcome, took time.Duration) error {
	st, err := localfleet.ReadStatus(ctx, dir)
	if err != nil {
		return err
	}
	return printData(g, st, func(w io.Writer) {
		took := took.Round(100 * time.Millisecond)
		switch {
		case done.how == "started":
			fmt.Fprintf(w, "Fleet %q is ready: %d cluster(s) in %s.\n", st.Name, len(st.Clusters), took)
		case done.how == "resumed":
			fmt.Fprintf(w, "Fleet %q is ready again: %d cluster(s) started with their data in %s.\n", st.Name, len(st.Clusters), took)
		case len(done.restarted) > 0:
			fmt.Fprintf(w, "Fleet %q is ready again: restarted %s in %s.\n", st.Name, strings.Join(done.restarted, ", "), took)
		default:
			fmt.Fprintf(w, "Fleet %q is ready: it was running and nothing had stopped.\n", st.Name)
		}
		fmt.Fprintf(w, "Kubeconfig: %s\n\n", st.Kubeconfig)
		t := newTable(w)
		fmt.Fprintln(t, "CONTEXT\tSERVER")
		for _, c := range st.Clusters {
			fmt.Fprintf(t, "%s\t%s\n", c.Name, c.Server)
		}
		t.Flush()
		fmt.Fprintf(w, "\nTry:   kubectl --kubeconfig %s --context %s get nodes\n", st.Kubeconfig, st.Clusters[0].Name)
		fmt.Fprintf(w, "Stop:  %s fleet down%s\n", invocation(), dirArg(dir))
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
	cmd.Flags().BoolVar(&flags.opts.Resume, "resume", false, "start the stopped fleet in --dir again, with its data, if there is one")
	return cmd
}

func runFleetSupervise(ctx context.Context, flags *fleetFlags) error {
	opts := localfleet.SuperviseOptions{Fleet: flags.opts}
	opts.Fleet.Dir = flags.dir
	if flags.gitRoot != "" {
		opts.Beside = func() (localfleet.Service, error) {
			srv, err := gitserver.Start(gitserver.Options{Root: flags.gitRoot, AllowPush: true})
			if err != nil {
				return localfleet.Service{}, fmt.Errorf("serve Git repositories: %w", err)
			}
			if err := os.WriteFile(filepath.Join(flags.dir, gitURLFile), []byte(srv.URL+"\n"), 0o644); err != nil {
				srv.Close()
				return localfleet.Service{}, fmt.Errorf("serve Git repositories: %w", err)
			}
			fmt.Fprintf(os.Stderr, "serving the Git repositories in %s at %s\n", flags.gitRoot, srv.URL)
			return localfleet.Service{Name: gitServiceName, URL: srv.URL, Stop: func() { _ = srv.Close() }}, nil
		}
	}
	return localfleet.Supervise(ctx, opts)
}

// gitServiceName is how `fleet status` lists the Git server of a quickstart's fleet.
const gitServiceName = "git"

// servesGit reports whether the fleet's supervisor serves Git repositories (a quickstart's).
func servesGit(st *localfleet.Status) bool {
	return gitServerURL(st) != ""
}

// gitServerURL is the URL of the fleet's Git server, or "".
func gitServerURL(st *localfleet.Status) string {
	for _, svc := range st.Services {
		if svc.Name == gitServiceName {
			return svc.URL
		}
	}
	return ""
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
