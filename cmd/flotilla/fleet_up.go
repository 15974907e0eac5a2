package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/clusters/localfleet"
	"github.com/flotilla-dev/flotilla/sources/gitserver"
)

// A `fleet up` leaves the clusters running after it returns, so it cannot hold them itself: it
// starts a supervisor (`flotilla fleet supervise`, in a session of its own) that starts the
// fleet, holds it and stops it on SIGTERM. The supervisor reports progress, readiness or failure
// as JSON lines on a pipe (file descriptor 3). Cluster processes die with the supervisor, and
// the supervisor gives up if `up` dies before the fleet is ready, so an interrupted `up` leaves
// nothing behind.

// supervisorEvent is one line on the pipe from the supervisor to `fleet up`.
type supervisorEvent struct {
	Progress string `json:"progress,omitempty"`
	Ready    bool   `json:"ready,omitempty"`
	Error    string `json:"error,omitempty"`
}

const (
	supervisorLog = "supervisor.log"
	// gitURLFile holds the URL of the Git server a supervisor started with --serve-git.
	gitURLFile = "git-url"
)

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
	dir, err := prepareFleetDir(ctx, g, flags.dir)
	if err != nil {
		return err
	}
	flags.dir = dir
	if _, err := localfleet.EnsureBinaries(ctx, localfleet.BuildOptions{Progress: g.stderr}); err != nil {
		return err
	}
	sup, events, err := startSupervisor(flags)
	if err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			stopSupervisor(sup)
			return fmt.Errorf("interrupted: stopped the fleet that was starting in %s", dir)
		case ev, ok := <-events:
			switch {
			case !ok:
				_ = sup.Wait()
				return fmt.Errorf("the fleet supervisor exited before the fleet was ready; last lines of %s:\n%s",
					filepath.Join(dir, supervisorLog), localfleet.LogTail(filepath.Join(dir, supervisorLog), 15))
			case ev.Error != "":
				_ = sup.Wait()
				return errors.New(ev.Error)
			case ev.Ready:
				return sup.Process.Release()
			default:
				fmt.Fprintln(g.stderr, ev.Progress)
			}
		}
	}
}

// prepareFleetDir checks the folder before anything starts: it must be usable and must not hold
// a running fleet. A fleet whose holder died is cleaned up.
func prepareFleetDir(ctx context.Context, g *globals, dir string) (string, error) {
	dir, err := resolveFleetDir(dir)
	if err != nil {
		return "", err
	}
	abs, err := localfleet.ClaimDir(dir)
	if err != nil {
		return "", err
	}
	st, err := localfleet.ReadStatus(ctx, abs)
	switch {
	case errors.Is(err, localfleet.ErrNoFleet):
		return abs, nil
	case err != nil:
		return "", err
	case st.Running:
		return "", fmt.Errorf("%s: %w (held by pid %d); stop it with `flotilla fleet down --dir %s` or choose another --dir",
			abs, localfleet.ErrFleetRunning, st.HolderPID, abs)
	}
	fmt.Fprintf(g.stderr, "Removing a stopped fleet's state from %s\n", abs)
	if err := localfleet.Down(ctx, abs); err != nil {
		return "", err
	}
	return localfleet.ClaimDir(abs)
}

// startSupervisor starts `flotilla fleet supervise` in its own session and returns the stream of
// its events.
func startSupervisor(flags *fleetFlags) (*exec.Cmd, <-chan supervisorEvent, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("find the flotilla executable: %w", err)
	}
	logFile, err := os.OpenFile(filepath.Join(flags.dir, supervisorLog), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("create supervisor log: %w", err)
	}
	defer logFile.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("create pipe: %w", err)
	}
	defer pw.Close()
	cmd := exec.Command(exe, append([]string{"fleet", "supervise"}, flags.args()...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.ExtraFiles = []*os.File{pw}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		pr.Close()
		return nil, nil, fmt.Errorf("start the fleet supervisor: %w", err)
	}
	events := make(chan supervisorEvent)
	go func() {
		defer close(events)
		defer pr.Close()
		scanner := bufio.NewScanner(pr)
		scanner.Buffer(make([]byte, 64*1024), 4*1024*1024)
		for scanner.Scan() {
			var ev supervisorEvent
			if err := json.Unmarshal(scanner.Bytes(), &ev); err != nil {
				ev.Progress = scanner.Text()
			}
			events <- ev
		}
	}()
	return cmd, events, nil
}

// stopSupervisor asks the supervisor to stop the fleet, and kills it if it takes too long; its
// cluster processes die with it either way.
func stopSupervisor(sup *exec.Cmd) {
	_ = sup.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = sup.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = sup.Process.Kill()
		<-done
	}
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
	pipe := os.NewFile(3, "events")
	if pipe == nil {
		return errors.New("fleet supervise is run by `flotilla fleet up`, with an events pipe on fd 3")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	send := func(ev supervisorEvent) {
		b, _ := json.Marshal(ev)
		if _, err := pipe.Write(append(b, '\n')); err != nil {
			cancel() // `fleet up` is gone before the fleet was ready: give up
		}
	}
	opts := flags.opts
	opts.Dir = flags.dir
	opts.Progress = lineWriter(func(line string) {
		fmt.Fprintln(os.Stderr, line)
		send(supervisorEvent{Progress: line})
	})
	fleet, err := localfleet.Start(ctx, opts)
	if err != nil {
		send(supervisorEvent{Error: err.Error()})
		return err
	}
	if flags.gitRoot != "" {
		srv, err := gitserver.Start(gitserver.Options{Root: flags.gitRoot, AllowPush: true})
		if err == nil {
			err = os.WriteFile(filepath.Join(flags.dir, gitURLFile), []byte(srv.URL+"\n"), 0o644)
		}
		if err != nil {
			send(supervisorEvent{Error: fmt.Sprintf("serve Git repositories: %v", err)})
			return errors.Join(err, fleet.Stop())
		}
		defer srv.Close()
		fmt.Fprintf(os.Stderr, "serving the Git repositories in %s at %s\n", flags.gitRoot, srv.URL)
	}
	send(supervisorEvent{Ready: true})
	pipe.Close()
	fmt.Fprintf(os.Stderr, "fleet ready; holding it until SIGTERM (pid %d)\n", os.Getpid())
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "stopping the fleet")
	return fleet.Stop()
}

// lineWriter calls fn once per line written to it.
type lineWriter func(line string)

func (fn lineWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		fn(line)
	}
	return len(p), nil
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
