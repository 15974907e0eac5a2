package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/reconciler"
	"github.com/flotilla-dev/flotilla/server"
)

func newUnpinCommand(g *globals) *cobra.Command {
	var flags configFlags
	var agentFlags clientFlags
	var all, direct bool
	cmd := &cobra.Command{
		Use:   "unpin",
		Short: "Let a rolled-back App follow Git again",
		Long: `Lift the pin a rollback left on an App, on one cluster (--cluster) or on every cluster it
selects (--all): it follows its Source again, and the unpin is recorded in the change ledger
with who asked. Without it, the pin lifts by itself when a commit other than the Source's head
at the time of the rollback arrives.

When an agent runs (the local one, found through its state folder, or --server with
--token-file), the unpin is asked of it, which then syncs the App on those clusters to Git's
revision; otherwise, or with --direct, this process unpins with --config in the state folder's
ledger, and the next sync applies Git's revision. Exits 1, saying "not pinned", when the App
was pinned on none of the clusters.`,
		Example: `  flotilla unpin --app bookinfo --cluster prod
  flotilla unpin --app bookinfo --all
  flotilla unpin --app bookinfo --all --server https://agent.example:7070 --token-file ops.token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkPairFlags("unpin", flags.app, flags.cluster, all); err != nil {
				return err
			}
			client, err := agentFlags.agent(cmd.Context(), direct)
			if err != nil {
				return err
			}
			var done server.UnpinDone
			next := "the agent syncs it there to Git's revision now"
			if client != nil {
				query := url.Values{}
				if flags.cluster != "" {
					query.Set("cluster", flags.cluster)
				}
				err = client.do(cmd.Context(), http.MethodPost, "/api/v1/apps/"+url.PathEscape(flags.app)+"/unpin", query, &done)
			} else {
				done, err = unpinDirect(cmd.Context(), g, flags, agentFlags.state)
				next = fmt.Sprintf("the next sync applies Git's revision (flotilla sync --config %s --app %s)", flags.path, flags.app)
			}
			if err != nil {
				return err
			}
			return printData(g, done, func(w io.Writer) {
				fmt.Fprintf(w, "unpinned App/%s on %s: %s\n", done.App, strings.Join(done.Clusters, ", "), next)
			})
		},
	}
	cmd.Flags().StringVar(&flags.path, "config", "flotilla.yaml", "configuration file or folder (with --direct, or when no agent runs)")
	cmd.Flags().StringVar(&flags.app, "app", "", "the App to unpin")
	cmd.Flags().StringVar(&flags.cluster, "cluster", "", "unpin on this cluster only")
	cmd.Flags().BoolVar(&all, "all", false, "unpin on every cluster the App selects")
	agentFlags.register(cmd)
	cmd.Flags().BoolVar(&direct, "direct", false, "unpin from this process (with --config) even when an agent runs")
	return cmd
}

// unpinDirect unpins the App from this process, as the OS user, in the state folder's ledger.
func unpinDirect(ctx context.Context, g *globals, flags configFlags, state string) (server.UnpinDone, error) {
	done := server.UnpinDone{App: flags.app, Clusters: []string{}}
	_, pairs, err := directPairs(g, flags)
	if err != nil {
		return done, err
	}
	stateDir, err := agentStateDir(state)
	if err != nil {
		return done, err
	}
	where := "any cluster"
	if flags.cluster != "" {
		where = "cluster " + flags.cluster
	}
	notPinned := fmt.Errorf("not pinned: App %s is not pinned on %s (ledger %s)", flags.app, where, stateDir)
	if _, err := os.Stat(filepath.Join(stateDir, history.DatabaseFile)); errors.Is(err, os.ErrNotExist) {
		return done, notPinned
	}
	ledger, err := openLedger(ctx, stateDir) // an unpin is recorded
	if err != nil {
		return done, err
	}
	defer ledger.Close()
	syncer := reconciler.NewSyncer("") // unpinning fetches nothing
	syncer.Ledger = ledger
	for _, pair := range pairs {
		err := syncer.Unpin(ctx, pair, cliActor(), "")
		switch {
		case errors.Is(err, reconciler.ErrNotPinned):
		case err != nil:
			return done, fmt.Errorf("unpin App/%s on %s: %w", flags.app, pair.Cluster.Metadata.Name, err)
		default:
			done.Clusters = append(done.Clusters, pair.Cluster.Metadata.Name)
		}
	}
	if len(done.Clusters) == 0 {
		return done, notPinned
	}
	return done, nil
}
