package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/reconciler"
	"github.com/flotilla-dev/flotilla/sources/gitrepo"
)

// configFlags are the flags of every command that works on a configuration (--config, --app,
// --cluster, --cache-dir), with how such a command loads it and makes its Syncer.
type configFlags struct {
	path, app, cluster, cacheDir string
}

// register adds --config (default path) and --cache-dir to cmd, and --app and --cluster when
// the command selects Apps and clusters (their help says what the command does with them).
func (f *configFlags) register(cmd *cobra.Command, path, appUsage, clusterUsage string) {
	cmd.Flags().StringVar(&f.path, "config", path, "configuration file or folder")
	if appUsage != "" {
		cmd.Flags().StringVar(&f.app, "app", "", appUsage)
	}
	if clusterUsage != "" {
		cmd.Flags().StringVar(&f.cluster, "cluster", "", clusterUsage)
	}
	cmd.Flags().StringVar(&f.cacheDir, "cache-dir", "", "where fetched repositories are cached (default: the user's cache directory)")
}

// load reads the configuration and warns, once each, about the settings it uses that nothing
// acts on yet.
func (f *configFlags) load(g *globals) (*config.Config, error) {
	cfg, err := config.Load(f.path)
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.InertWarnings() {
		fmt.Fprintf(g.stderr, "warning: %s\n", w)
	}
	return cfg, nil
}

// sourceCache is --cache-dir, or the default cache of fetched repositories.
func (f *configFlags) sourceCache() (string, error) {
	return sourceCacheDir(f.cacheDir)
}

// fetcher is the Git fetcher of the command's source cache.
func (f *configFlags) fetcher() (*gitrepo.Fetcher, error) {
	dir, err := f.sourceCache()
	if err != nil {
		return nil, err
	}
	return gitrepo.NewFetcher(dir), nil
}

// syncer is the Syncer of the command's source cache.
func (f *configFlags) syncer() (*reconciler.Syncer, error) {
	dir, err := f.sourceCache()
	if err != nil {
		return nil, err
	}
	return reconciler.NewSyncer(dir), nil
}

// passOptions are opts for a pass over --app and --cluster, reporting progress on stderr and
// events to the command's logger.
func (f *configFlags) passOptions(g *globals, opts reconciler.Options) reconciler.Options {
	opts.App, opts.Cluster = f.app, f.cluster
	opts.Observer = reconciler.Observers(reconciler.ProgressLines(g.stderr), reconciler.LogEvents(g.logger))
	return opts
}

// sourceCacheDir is flag, or the default cache of fetched repositories.
func sourceCacheDir(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	return gitrepo.DefaultCacheDir()
}
