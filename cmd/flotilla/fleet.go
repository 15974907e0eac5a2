package main

import (
	"errors"
	"fmt"
	"io"
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
		return dir, nil
	}
	return localfleet.DefaultDir()
}

func newFleetStatusCommand(g *globals) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the local fleet's clusters and whether they are ready",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := resolveFleetDir(dir)
			if err != nil {
				return err
			}
			st, err := localfleet.ReadStatus(cmd.Context(), dir)
			if errors.Is(err, localfleet.ErrNoFleet) {
				return fmt.Errorf("%w; start one with `flotilla fleet up --dir %s`", err, dir)
			}
			if err != nil {
				return err
			}
			if err := printData(g, st, func(w io.Writer) { printFleetStatus(w, st) }); err != nil {
				return err
			}
			for _, c := range st.Clusters {
				if !c.Ready {
					return exitError{code: 1}
				}
			}
			return nil
		},
	}
	fleetDirFlag(cmd, &dir)
	return cmd
}

func printFleetStatus(w io.Writer, st *localfleet.Status) {
	state := "stopped: its holder process is gone"
	if st.Running {
		state = fmt.Sprintf("running, held by pid %d", st.HolderPID)
	}
	fmt.Fprintf(w, "Fleet %q in %s (%s, started %s ago)\n", st.Name, st.Dir, state, time.Since(st.CreatedAt).Round(time.Second))
	if len(st.Clusters) == 0 {
		fmt.Fprintln(w, "No clusters yet: the fleet is still starting.")
		return
	}
	fmt.Fprintf(w, "Kubeconfig: %s\n\n", st.Kubeconfig)
	t := newTable(w)
	fmt.Fprintln(t, "CLUSTER\tSERVER\tREADY\tPROCESSES")
	for _, c := range st.Clusters {
		ready := "yes"
		if !c.Ready {
			ready = "no: " + c.Reason
		}
		var procs []string
		for _, p := range c.Processes {
			s := p.Name
			if !p.Running {
				s += " (stopped)"
			}
			procs = append(procs, s)
		}
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\n", c.Name, c.Server, ready, strings.Join(procs, ", "))
	}
	t.Flush()
}

func newFleetDownCommand(g *globals) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop the local fleet and remove its state",
		Long: `Stop every process of the local fleet (etcd, API servers, controller managers,
schedulers, kwok) and remove its folder. Succeeds when there is no fleet.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := resolveFleetDir(dir)
			if err != nil {
				return err
			}
			err = localfleet.Down(cmd.Context(), dir)
			if errors.Is(err, localfleet.ErrNoFleet) {
				fmt.Fprintf(g.stderr, "No fleet in %s: nothing to stop.\n", dir)
				return nil
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stderr, "Stopped the fleet in %s and removed its state.\n", dir)
			return nil
		},
	}
	fleetDirFlag(cmd, &dir)
	return cmd
}

func newFleetBuildCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "build",
		Short: "Build and cache the cluster binaries now (fleet up does it when needed)",
		Args:  cobra.NoArgs,
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
