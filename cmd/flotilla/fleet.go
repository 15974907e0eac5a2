package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/clusters/localfleet"
)

func newFleetCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fleet",
		Short: "Run real Kubernetes clusters on this machine to try Flotilla or test it",
		Long: `Run real Kubernetes clusters on 127.0.0.1: per cluster a kube-apiserver,
kube-controller-manager, kube-scheduler and kwok with one fake node (pods become Running
without containers), all sharing one etcd. The Istio CRDs are installed by default.

'fleet up' starts them, and brings back whatever part stopped later (a crashed or killed
process, or the whole fleet after a reboot) with its data, certificates and ports;
'fleet status' shows what is ready; 'fleet down' stops it all.

The binaries are built from the Go module proxy the first time (several minutes) and
cached under the user's cache directory ($FLOTILLA_CACHE_DIR overrides it).`,
	}
	cmd.AddCommand(newFleetUpCommand(g), newFleetStatusCommand(g), newFleetDownCommand(g),
		newFleetBuildCommand(g), newFleetSuperviseCommand(g))
	return cmd
}

// fleetDirFlag adds --dir, defaulting to the user's state directory.
func fleetDirFlag(cmd *cobra.Command, dir *string) {
	def, err := localfleet.DefaultDir()
	if err != nil {
		def = ""
	}
	cmd.Flags().StringVar(dir, "dir", def, "folder holding the fleet's state, logs and kubeconfig")
}

func resolveFleetDir(dir string) (string, error) {
	if dir != "" {
		return filepath.Abs(dir)
	}
	def, err := localfleet.DefaultDir()
	if err != nil {
		return "", err
	}
	return filepath.Abs(def)
}

// dirArg is the --dir flag a hint needs to name the fleet in dir: none for the default folder.
func dirArg(dir string) string {
	if def, err := localfleet.DefaultDir(); err == nil && def == dir {
		return ""
	}
	return " --dir " + dir
}

func newFleetStatusCommand(g *globals) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show whether each part of the local fleet runs and is ready",
		Long: `Show the local fleet in --dir part by part: etcd (answers /health), each cluster
(all its processes run and its kube-apiserver answers /readyz; the reason when not) and what
runs beside the fleet, such as the quickstart's Git server (answers HTTP).

An API server that is shutting down still runs for up to a minute but refuses connections:
it is shown as not ready. 'flotilla fleet up' restarts every part that is not ready, keeping
its data, certificates and ports.

Exit status: 0 when every part is ready, 1 otherwise (also when there is no fleet).`,
		Example: `  flotilla fleet status
  flotilla fleet status -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := resolveFleetDir(dir)
			if err != nil {
				return err
			}
			st, err := localfleet.ReadStatus(cmd.Context(), dir)
			if errors.Is(err, localfleet.ErrNoFleet) {
				return fmt.Errorf("%w; start one with `%s fleet up%s`", err, invocation(), dirArg(dir))
			}
			if err != nil {
				return err
			}
			if err := printData(g, st, func(w io.Writer) { printFleetStatus(w, st) }); err != nil {
				return err
			}
			if len(st.NotReady()) > 0 {
				return exitError{code: 1}
			}
			return nil
		},
	}
	fleetDirFlag(cmd, &dir)
	return cmd
}

func printFleetStatus(w io.Writer, st *localfleet.Status) {
	state := "stopped: the process that held it is gone, and its processes with it"
	if st.Running {
		state = fmt.Sprintf("running, held by pid %d", st.HolderPID)
	}
	fmt.Fprintf(w, "Fleet %q in %s (%s; created %s ago)\n", st.Name, st.Dir, state, time.Since(st.CreatedAt).Round(time.Second))
	if len(st.Clusters) == 0 {
		fmt.Fprintln(w, "No clusters yet: the fleet is still starting, or never became ready.")
		return
	}
	fmt.Fprintf(w, "Kubeconfig: %s\n\n", st.Kubeconfig)
	t := newTable(w)
	fmt.Fprintln(t, "PART\tADDRESS\tREADY\tPROCESSES")
	fmt.Fprintf(t, "etcd\t%s\t%s\t%s\n", st.Etcd.URL, readiness(st.Etcd.Ready, st.Etcd.Reason), processList(st.Etcd.Process))
	for _, c := range st.Clusters {
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\n", c.Name, c.Server, readiness(c.Ready, c.Reason), processList(c.Processes...))
	}
	for _, svc := range st.Services {
		fmt.Fprintf(t, "%s\t%s\t%s\t(in the holder, pid %d)\n", svc.Name, svc.URL, readiness(svc.Ready, svc.Reason), st.HolderPID)
	}
	t.Flush()
	if notReady := st.NotReady(); len(notReady) > 0 {
		what := "Restart what stopped"
		if !st.Running {
			what = "Start it again"
		}
		fmt.Fprintf(w, "\nNot ready: %s. %s, with its data, certificates and ports: %s fleet up%s\n",
			strings.Join(notReady, ", "), what, invocation(), dirArg(st.Dir))
	}
}

func readiness(ready bool, reason string) string {
	if ready {
		return "yes"
	}
	return "no: " + reason
}

func processList(ps ...localfleet.ProcessStatus) string {
	var names []string
	for _, p := range ps {
		s := p.Name
		if !p.Running {
			s += " (stopped)"
		}
		names = append(names, s)
	}
	return strings.Join(names, ", ")
}

func newFleetDownCommand(g *globals) *cobra.Command {
	var dir string
	var purge bool
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop the local fleet and remove its state; the quickstart's repository stays",
		Long: `Stop every process of the local fleet (etcd, API servers, controller managers,
schedulers, kwok, the quickstart's Git server) and remove its folder: clusters, certificates,
etcd data, logs and kubeconfig.

The quickstart's example repository stays (the work tree DIR/fleet-repo with your commits, and
the repository DIR/git it pushes to), so that the next 'flotilla quickstart' syncs your
version again. --purge removes it too, and with it the whole folder.

Succeeds when there is no fleet.`,
		Example: `  flotilla fleet down            # keep the quickstart's example repository
  flotilla fleet down --purge    # remove everything`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{outputFormats: ""},
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := resolveFleetDir(dir)
			if err != nil {
				return err
			}
			var opts localfleet.DownOptions
			if !purge {
				opts.Keep = quickstartRepository
			}
			res, err := localfleet.Down(cmd.Context(), dir, opts)
			if errors.Is(err, localfleet.ErrNoFleet) {
				fmt.Fprintf(g.stderr, "No fleet in %s: nothing to stop.\n", dir)
				return nil
			}
			if err != nil {
				return err
			}
			printDown(g.stderr, dir, res)
			return nil
		},
	}
	fleetDirFlag(cmd, &dir)
	cmd.Flags().BoolVar(&purge, "purge", false, "also remove the quickstart's example repository and your commits in it: the whole folder")
	return cmd
}

func printDown(w io.Writer, dir string, res *localfleet.DownResult) {
	if res.Stopped {
		fmt.Fprintf(w, "Stopped the fleet in %s and removed its state.\n", dir)
	} else {
		fmt.Fprintf(w, "No fleet runs in %s.\n", dir)
	}
	if len(res.Kept) > 0 {
		fmt.Fprintf(w, "Kept the quickstart's example repository with your commits for the next quickstart: %s.\nRemove it too with `%s fleet down --purge%s`.\n",
			strings.Join(res.Kept, ", "), invocation(), dirArg(dir))
	}
}

func newFleetBuildCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "build",
		Short: "Build and cache the cluster binaries now (fleet up does it when needed)",
		Long: `Build etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok from the Go
module proxy and cache them under the user's cache directory ($FLOTILLA_CACHE_DIR overrides
it), with progress. A cold build takes about 10 minutes on 2 cores; with the binaries cached
it returns at once. 'fleet up', 'quickstart' and 'make test' build them when needed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bins, err := localfleet.EnsureBinaries(cmd.Context(), localfleet.BuildOptions{Progress: g.stderr})
			if err != nil {
				return err
			}
			return printData(g, bins, func(w io.Writer) {
				fmt.Fprintf(w, "Cluster binaries (Kubernetes %s, etcd %s, kwok %s) are in %s\n",
					localfleet.KubernetesVersion, localfleet.EtcdVersion, localfleet.KwokVersion, bins.Dir)
			})
		},
	}
}
