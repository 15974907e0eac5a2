package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/reconciler"
	"github.com/flotilla-dev/flotilla/server"
)

// agentFlags are the agent command's own flags.
type agentFlags struct {
	config         configFlags
	state          string
	logFormat      string
	workers        int
	listen         string
	tokenFile      string
	webhookSecrets map[string]string
	tlsCert        string
	tlsKey         string
	insecure       bool
	publicMetrics  bool
	keep           history.Retention
}

func newAgentCommand(g *globals) *cobra.Command {
	var f agentFlags
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Keep the clusters equal to Git for as long as it runs",
		Long: `Run the long-lived agent: poll each Source on its spec.interval (an unchanged remote costs
one ref listing, no download), and reconcile each App on each cluster it selects through a work
queue: a new commit is synced to every cluster of the Apps that follow the Source (spec.sync.
automated: true) or reported OutOfSync (automated: false, synced only when someone asks);
failures are retried with exponential backoff. The first pass after a start reconciles every
App × Cluster from the clusters' inventories, writing nothing that is already live.

Each cluster is watched (metadata only, Flotilla's labels) for changes someone else makes to
managed objects: with spec.drift.mode enforce they are taken back at once (a deleted object is
re-created), with warn they are reported (Drifted, naming the field manager), with ignore left
alone. A field that another manager takes from Flotilla more than 5 times within 2 minutes is
fought over: healing its object pauses, reconciles leave the object alone, and the App reports
Fighting, naming the manager and the field, until that manager has left it alone for 2 minutes;
then the field is taken back.

The status API, webhooks (POST /hooks/github, gitlab, gitea, generic) and /metrics listen on
--listen; flotilla status asks the local agent through its state folder.

The change ledger lives in the state folder (ledger.db, and its key file ledger.key, mode
0600): flotilla history and the history API read it, flotilla audit verifies it. The agent
does not start when that file is not a Flotilla ledger, is corrupt, was written by a newer
Flotilla, or has lost its key file: it says so and leaves the file as it is. With
--keep-history or --keep-changes, older changes are appended to STATE/ledger-archive.jsonl,
then dropped from the ledger (hourly); flotilla audit verify --file checks the archive, and the
ledger's chain stays verifiable from its first kept entry.

SIGINT or SIGTERM: no new work is taken (what is still queued is left for the next start),
reconciles under way get a grace period to finish, then the agent exits 0. SIGHUP, or a change
to the configuration's files, reloads the configuration (the clients, drift watches and metrics
of clusters removed are dropped; a cluster whose kubeconfig or context changed is watched
anew); one that does not load is refused, logged, and the old one keeps running.
Logs go to stderr, one line per reconcile (--log-format text or json).`,
		Example: `  flotilla agent --config ~/.local/state/flotilla/fleet/flotilla.yaml
  flotilla agent --config fleet/ --log-format json`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{outputFormats: ""},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAgent(cmd.Context(), g, f)
		},
	}
	f.config.register(cmd, "flotilla.yaml", "", "")
	cmd.Flags().StringVar(&f.state, "state", "", "the agent's state folder: API token, endpoint, change ledger (default: flotilla/agent under the user's state directory)")
	cmd.Flags().StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	cmd.Flags().IntVar(&f.workers, "workers", reconciler.DefaultAgentOptions().Workers, "App × Cluster reconciles at once")
	cmd.Flags().StringVar(&f.listen, "listen", server.DefaultListen, "address of the status API, webhooks and metrics (\"\" or \"off\": none)")
	cmd.Flags().StringVar(&f.tokenFile, "token-file", "", "more API tokens, one per line: ROLE NAME TOKEN (roles viewer, operator); mode 0600")
	cmd.Flags().StringToStringVar(&f.webhookSecrets, "webhook-secret-file", nil, "a webhook's secret from a file, PROVIDER=FILE (github, gitlab, gitea, generic); or set FLOTILLA_WEBHOOK_SECRET_<PROVIDER>")
	cmd.Flags().StringVar(&f.tlsCert, "tls-cert", "", "serve HTTPS with this certificate (and --tls-key)")
	cmd.Flags().StringVar(&f.tlsKey, "tls-key", "", "the key of --tls-cert")
	cmd.Flags().BoolVar(&f.insecure, "allow-insecure-listen", false, "allow --listen on an address that is not loopback without TLS")
	cmd.Flags().BoolVar(&f.publicMetrics, "public-metrics", false, "serve /metrics to every client (for a Prometheus on another host); without it, to loopback clients only")
	cmd.Flags().DurationVar(&f.keep.MaxAge, "keep-history", 0, "keep ledger changes this long (e.g. 2160h); older ones are archived to STATE/"+archiveFile+", then dropped (0: keep all)")
	cmd.Flags().IntVar(&f.keep.MaxChanges, "keep-changes", 0, "keep at most this many ledger changes; older ones are archived, then dropped (0: no bound)")
	return cmd
}

func runAgent(ctx context.Context, g *globals, f agentFlags) error {
	logger, err := agentLogger(g.stderr, f.logFormat, g.verbosity)
	if err != nil {
		return err
	}
	stateDir, err := agentStateDir(f.state)
	if err != nil {
		return err
	}
	// The ledger first: a change must not be made that it cannot record.
	ledger, err := openLedger(ctx, stateDir)
	if err != nil {
		return fmt.Errorf("the agent does not start: %w", err)
	}
	defer ledger.Close()
	cfg, err := f.config.load(g)
	if err != nil {
		return err
	}
	syncer, err := f.config.syncer()
	if err != nil {
		return err
	}
	syncer.Ledger = ledger
	opts := reconciler.DefaultAgentOptions()
	opts.Workers, opts.Logger = f.workers, logger
	opts.Observer = reconciler.LogEvents(logger)
	metrics := server.NewMetrics()
	opts.Observer = reconciler.Observers(reconciler.LogEvents(logger), metrics)
	opts.OnDrift = func(ev clusters.DriftEvent, mode string) { metrics.DriftEvent(mode, ev.Manager) }
	opts.OnFetch = metrics.ObserveFetch
	opts.OnWatchError = func(cluster string, _ error) { metrics.WatchRestart(cluster) }
	opts.OnClusterRemoved = metrics.ForgetCluster
	agent := reconciler.NewAgent(syncer, cfg, opts)
	api, err := newAgentServer(f, agent, ledger, metrics, logger)
	if err != nil {
		return err
	}
	go watchConfig(ctx, agent, f.config.path, logger)
	go keepHistory(ctx, ledger, stateDir, f.keep, logger)
	served := make(chan error, 1)
	if api != nil {
		go func() { served <- api.serve(ctx) }()
	} else {
		close(served)
	}
	if err := agent.Run(ctx); err != nil {
		return err
	}
	if err := <-served; err != nil {
		return err
	}
	logger.Info("agent stopped")
	return nil
}

// agentLogger logs at info level (debug with -v 2) as text or JSON.
func agentLogger(w io.Writer, format string, verbosity int) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if verbosity >= 2 {
		opts.Level = slog.LevelDebug
	}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", format)
}

// configCheckInterval is how often the agent looks for changes to its configuration's files.
const configCheckInterval = 2 * time.Second

// watchConfig reloads the agent's configuration on SIGHUP and when its files change, until ctx
// ends. A configuration that does not load is refused and the old one keeps running.
func watchConfig(ctx context.Context, agent *reconciler.Agent, path string, logger *slog.Logger) {
	hangups := make(chan os.Signal, 1)
	signal.Notify(hangups, syscall.SIGHUP)
	defer signal.Stop(hangups)
	ticker := time.NewTicker(configCheckInterval)
	defer ticker.Stop()
	last := configModified(path)
	for {
		reason := ""
		select {
		case <-ctx.Done():
			return
		case <-hangups:
			reason = "SIGHUP"
		case <-ticker.C:
			if m := configModified(path); !m.Equal(last) {
				reason = "configuration changed"
			}
		}
		if reason == "" {
			continue
		}
		last = configModified(path)
		cfg, err := config.Load(path)
		if err != nil {
			logger.Error("configuration refused; the running one stays", "reason", reason, "error", err)
			agent.RefuseReload(err)
			continue
		}
		logger.Info("configuration reloaded", "reason", reason, "apps", len(cfg.Apps), "clusters", len(cfg.Clusters))
		agent.Reload(ctx, cfg)
	}
}

// configModified is the newest modification time of the configuration's files (a file, or the
// files of a folder).
func configModified(path string) time.Time {
	var newest time.Time
	_ = filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if info, err := d.Info(); err == nil && info.ModTime().After(newest) {
			newest = info.ModTime()
		}
		return nil
	})
	return newest
}
