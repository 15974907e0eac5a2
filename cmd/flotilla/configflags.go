package main

import (
	"fmt"
	"slices"
	"strings"

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
	if err := f.checkNames(cfg); err != nil {
		return nil, err
	}
	for _, w := range cfg.InertWarnings() {
		fmt.Fprintf(g.stderr, "warning: %s\n", w)
	}
	return cfg, nil
}

// checkNames refuses an --app or --cluster that the configuration does not define, listing the
// names it does define.
func (f *configFlags) checkNames(cfg *config.Config) error {
	if f.app != "" && cfg.App(f.app) == nil {
		names := make([]string, len(cfg.Apps))
		for i, a := range cfg.Apps {
			names[i] = a.Metadata.Name
		}
		return undefinedName(config.KindApp, f.app, f.path, "--app", names)
	}
	if f.cluster != "" && cfg.Cluster(f.cluster) == nil {
		names := make([]string, len(cfg.Clusters))
		for i, c := range cfg.Clusters {
			names[i] = c.Metadata.Name
		}
		return undefinedName(config.KindCluster, f.cluster, f.path, "--cluster", names)
	}
	return nil
}

// maxNamesListed bounds the names an error lists before "…".
const maxNamesListed = 10

// undefinedName is the error for a name the configuration at path does not define.
func undefinedName(kind, name, path, flag string, defined []string) error {
	if len(defined) == 0 {
		return fmt.Errorf("%s %q is not defined in %s, which defines no %s: add one, or leave out %s", kind, name, path, kind, flag)
	}
	slices.Sort(defined)
	list := defined
	if len(list) > maxNamesListed {
		list = append(slices.Clip(list[:maxNamesListed]), fmt.Sprintf("… (%d in all)", len(defined)))
	}
	return fmt.Errorf("%s %q is not defined in %s; its %ss are %s: pass one of them to %s", kind, name, path, kind, strings.Join(list, ", "), flag)
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
	opts.Observer = reconciler.Observers(fetchFailuresOnce(reconciler.ProgressLines(g.stderr)), reconciler.LogEvents(g.logger))
	return opts
}

// fetchFailuresOnce passes events on to o, but a reconcile that failed because its Source could
// not be fetched only names the Source: the fetch event before it gave the error in full, once
// for every App × Cluster of the Source.
func fetchFailuresOnce(o reconciler.Observer) reconciler.Observer {
	return reconciler.ObserverFunc(func(e reconciler.Event) {
		if e.Stage == reconciler.StageDone && e.Result != nil {
			if name, ok := unfetchedSource(e.Result.Err); ok {
				e.Message = fmt.Sprintf("%s: Source/%s could not be fetched (see above)", e.Result.Status, name)
			}
		}
		o.Observe(e)
	})
}

// sourceCacheDir is flag, or the default cache of fetched repositories.
func sourceCacheDir(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	return gitrepo.DefaultCacheDir()
}
