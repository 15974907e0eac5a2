package reconciler

import (
	"context"
	"time"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/internal/keylock"
	"github.com/flotilla-dev/flotilla/policies"
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

// ErrWavesNeedAgent: a one-shot sync does not roll an App with waves out; the agent does.
var ErrWavesNeedAgent error = &policies.RefusalError{Reason: "the App rolls out in waves (spec.rollout.waves), wave by wave with bake times: " +
	"the agent rolls it out (flotilla sync with a running agent asks it; flotilla rollout status APP follows it); nothing was applied"}

// Sync runs one pass: it selects every App (or opts.App) × each cluster the App selects (or
// opts.Cluster), fetches each Source they need once, and reconciles each pair (see
// Reconcile), several at once (an App with waves is refused, ErrWavesNeedAgent: the agent
// rolls it out); one failing does not stop the others, and a Source that cannot
// be fetched fails its Apps' results only. The error is non-nil when an App's cluster selector
// is invalid or the options select nothing.
func (s *Syncer) Sync(ctx context.Context, cfg *config.Config, opts Options) ([]Result, error) {
	items, err := s.selectWork(ctx, cfg, opts)
	if err != nil {
		return nil, err
	}
	return inParallel(items, func(w work) Result {
		if w.source.err != nil {
			return s.failed(w.key, opts, w.source.err)
		}
		if hasWaves(w.key.App) && !opts.DryRun {
			r := s.begin(w.key, w.source.checkout, opts)
			return r.done(r.finish(StatusRefused, ErrWavesNeedAgent))
		}
		return s.Reconcile(ctx, w.key, w.source.checkout, opts)
	}), nil
}
