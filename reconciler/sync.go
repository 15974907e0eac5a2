package reconciler

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/internal/keylock"
	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/sources/gitrepo"
	"github.com/flotilla-dev/flotilla/sources/render"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

// Options tune one sync or diff pass.
type Options struct {
	// App and Cluster restrict the pass to one App and/or one cluster by name.
	App, Cluster string
	// DryRun stops every reconcile after its Plan: nothing is written.
	DryRun bool
	// Wait waits for health after applying, up to each App's health timeout.
	Wait           bool
	ForceConflicts bool
	// ConfirmPrune lets this pass prune more than the prune guard allows: all of an App's
	// objects, or more than its spec.sync.maxPrunePercent.
	ConfirmPrune bool
	// OverrideWindow syncs even when a sync window holds the App (recorded as an override).
	OverrideWindow bool
	// Observer is told what the pass does (see Event); nil tells no one.
	Observer Observer
	// Cause says why the pass runs and who asked, for the ledger.
	Cause Cause
	// Paused are objects not applied by this pass, with why (the agent pauses the heal of an
	// object another manager fights over): each is reported unchanged with the reason and
	// keeps its inventory entry, so that a later pass without it takes its fields back.
	Paused map[object.ID]string

	// comparing: the pass only compares the cluster with Git, and previews no sync (a diff,
	// the agent's look at a pair it does not sync on its own): no sync window holds it.
	comparing bool
}

// Cause is why a reconcile runs and who asked for it, as the ledger records it. The zero Cause
// is a manual sync.
type Cause struct {
	// Trigger is poll, webhook, manual, drift, rollback or auto-rollback ("" is manual).
	Trigger history.Trigger
	Actor   history.Actor
	// Reason is the actor's (a rollback's --reason) or the agent's own.
	Reason string
	// Drift names each object someone else changed and who, for a drift heal.
	Drift []string
}

// trigger is c.Trigger, manual when unset.
func (c Cause) trigger() history.Trigger {
	if c.Trigger == "" {
		return history.TriggerManual
	}
	return c.Trigger
}

// Syncer holds what lasts between passes: the Git cache, the render cache, the cluster
// clients, where reconciles record what they did, and one lock per App × Cluster.
type Syncer struct {
	Fetcher  *gitrepo.Fetcher
	Cache    *render.Cache
	Limits   tree.Limits
	Clusters *clusters.Registry
	// Recorder keeps what each reconcile changed (see Recorder).
	Recorder Recorder
	// Ledger, when set, records every change in the change ledger (see ledger.go), keeps
	// snapshots for rollbacks, and holds the pins of rolled-back pairs.
	Ledger *history.Ledger
	// Now is the clock sync windows are judged by (nil: time.Now).
	Now func() time.Time

	// locks serialises reconciles of one App × Cluster, so that every change is recorded
	// before the next change to the same pair.
	locks keylock.Map
	// unwritten are the ends of changes the ledger could not record, by pair (see
	// ledger_ends.go).
	unwritten unwrittenEnds
}

// NewSyncer returns a Syncer that caches repositories in cacheDir and records in each
// cluster's inventory.
func NewSyncer(cacheDir string) *Syncer {
	return &Syncer{
		Fetcher: gitrepo.NewFetcher(cacheDir), Cache: render.NewCache(), Limits: tree.DefaultLimits(),
		Clusters: clusters.NewRegistry(), Recorder: InventoryRecorder{},
	}
}

// now is the Syncer's clock.
func (s *Syncer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Target returns the client of a configured cluster (see clusters.Registry).
func (s *Syncer) Target(c *config.Cluster) (*clusters.Target, error) {
	return s.Clusters.Target(c)
}

// Sync runs one pass: it selects every App (or opts.App) × each cluster the App selects (or
// opts.Cluster), fetches each Source they need once, and reconciles each pair (see
// Reconcile), several at once; the pairs of an App with waves go wave by wave, health waited
// and baked (see syncInWaves; a dry run previews every pair at once). One failing does not
// stop the others, and a Source that cannot be fetched fails its Apps' results only. The
// results are in App, Cluster order. The error is non-nil when an App's cluster selector is
// invalid or the options select nothing.
func (s *Syncer) Sync(ctx context.Context, cfg *config.Config, opts Options) ([]Result, error) {
	items, err := s.selectWork(ctx, cfg, opts)
	if err != nil {
		return nil, err
	}
	var plain []work
	inWaves := map[string][]work{}
	for _, w := range items {
		if hasWaves(w.key.App) && !opts.DryRun {
			inWaves[w.key.App.Metadata.Name] = append(inWaves[w.key.App.Metadata.Name], w)
		} else {
			plain = append(plain, w)
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var results []Result
	for _, group := range inWaves {
		wg.Go(func() {
			done := s.syncInWaves(ctx, group, opts)
			mu.Lock()
			results = append(results, done...)
			mu.Unlock()
		})
	}
	done := inParallel(plain, func(w work) Result { return s.syncPair(ctx, w, opts) })
	wg.Wait()
	results = append(results, done...)
	slices.SortStableFunc(results, func(a, b Result) int {
		return cmp.Or(strings.Compare(a.App, b.App), strings.Compare(a.Cluster, b.Cluster))
	})
	return results, nil
}
