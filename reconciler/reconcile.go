package reconciler

import (
	"context"
	"errors"
	"time"

	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/sources/render"
)

// AppCluster is the unit of work: one App on one Cluster.
type AppCluster struct {
	App     *config.App
	Cluster *config.Cluster
}

// String is "App/Cluster".
func (k AppCluster) String() string { return k.App.Metadata.Name + "/" + k.Cluster.Metadata.Name }

// Reconcile brings one App on one cluster to the revision rev, stage by stage, each a function
// of its own (a file each) that takes what the stages before it produced:
//
//	render  the App's kustomization for the cluster, while connect reads the cluster
//	guard   refuse what must not be applied, with findings: an empty render, errors of the
//	        mesh guardrails, an unreachable cluster, objects the cluster's schema refuses, a
//	        prune of too much
//	plan    what a sync would create, configure and prune; a dry run previews it and stops
//	intent  record the objects about to be created in the inventory, before they exist
//	apply   server-side apply, CRDs and Namespaces first
//	prune   what left Git, only after every apply succeeded
//	record  what changed (the cluster's inventory), before anything else can change it
//	health  wait for the objects to become healthy (with opts.Wait)
//
// With a Ledger, a pin stage comes first (a rolled-back pair stays on its pinned snapshot until
// a newer commit), the change is begun in the ledger before the first write (nothing is
// written if that fails) and finished with the result (see ledger.go), and a revision that
// fails health is rolled back when the App asks for it (spec.health.autoRollback).
//
// Nothing is written unless render and guard passed, nothing is pruned unless apply succeeded,
// and one App × Cluster is never reconciled twice at once: a second Reconcile of the same pair
// waits for the first (or for ctx). opts.App and opts.Cluster are not used: they select pairs
// for Sync and Diff. The observer's done event comes after the pair is free again.
func (s *Syncer) Reconcile(ctx context.Context, key AppCluster, rev Revision, opts Options) Result {
	r := s.begin(key, rev, opts)
	unlock, err := s.locks.LockContext(ctx, key.String())
	if err != nil {
		return r.done(r.finish(StatusFailed, err))
	}
	result := r.closeChange(ctx, r.reconcile(ctx))
	rollback, rollbackResult := s.autoRollback(ctx, key, r.rev, result, opts)
	if rollback != nil {
		result.AutoRollback = &rollbackResult
	}
	unlock()
	result = r.done(result)
	if rollback != nil {
		rollback.done(rollbackResult)
	}
	return result
}

// reconcile runs the stages in order (see Reconcile).
func (r *run) reconcile(ctx context.Context) Result {
	if r.rev == nil {
		return r.finish(StatusFailed, errors.New("no revision to reconcile"))
	}
	if err := r.followPin(ctx); err != nil {
		return r.finish(StatusFailed, err)
	}
	conn := r.connect(ctx, readForApply)
	desired, err := r.render(ctx)
	if err != nil {
		conn.abandon()
		return r.finish(StatusFailed, err)
	}
	cluster, findings := r.guard(ctx, desired, conn)
	if len(findings) > 0 {
		return r.finish(findings.Status(), findings.Err())
	}
	plan := r.plan(desired, cluster)
	r.desired, r.planned = desired, plan
	if r.opts.DryRun {
		r.result.Changes, err = r.preview(ctx, desired, cluster, plan)
		return r.finish(orFailed(StatusPlanned, err), err)
	}
	if err := r.beginIfMust(ctx, desired, cluster, plan); err != nil {
		return r.finish(StatusFailed, err)
	}
	if err := r.recordIntent(ctx, desired, cluster); err != nil {
		return r.finish(StatusFailed, err)
	}
	applied, err := r.apply(ctx, desired, cluster)
	r.result.Changes = applied
	if err != nil {
		return r.finish(StatusFailed, errors.Join(err, r.record(ctx, desired, cluster, applied, nil)))
	}
	pruned, err := r.prune(ctx, cluster, plan, applied)
	r.result.Changes = append(r.result.Changes, pruned...)
	if err := errors.Join(err, r.record(ctx, desired, cluster, applied, pruned)); err != nil {
		return r.finish(StatusFailed, err)
	}
	if !r.opts.Wait {
		return r.finish(StatusSynced, nil)
	}
	return r.finish(r.health(ctx, cluster, applied))
}

// beginIfMust begins the change in the ledger now, before the inventory's intent is written,
// when it must be recorded whatever apply finds to write (see mustRecord); otherwise apply
// begins it before its first write, if it writes anything.
func (r *run) beginIfMust(ctx context.Context, desired *render.Manifests, cluster *clusterState, plan *Plan) error {
	if r.syncer.Ledger == nil {
		return nil
	}
	must, err := r.mustRecord(ctx, desired, cluster, plan)
	if err != nil || !must {
		return err
	}
	return r.beginChange(ctx, desired)
}

// run is one reconcile under way: what it works on and the result it builds.
type run struct {
	syncer  *Syncer
	key     AppCluster
	rev     Revision
	opts    Options
	started time.Time
	result  Result

	// desired and planned are the render and plan, once made; change is the ledger's record,
	// once begun.
	desired *render.Manifests
	planned *Plan
	change  *history.Change
}

func (s *Syncer) begin(key AppCluster, rev Revision, opts Options) *run {
	r := &run{syncer: s, key: key, rev: rev, opts: opts, started: time.Now()}
	r.result = Result{App: key.App.Metadata.Name, Cluster: key.Cluster.Metadata.Name}
	if rev != nil {
		r.result.Commit = rev.Describe().Commit
	}
	return r
}

// failed is the result of a reconcile that could not start: its Source could not be fetched.
func (s *Syncer) failed(key AppCluster, opts Options, err error) Result {
	r := s.begin(key, nil, opts)
	return r.done(r.finish(StatusFailed, err))
}

// event tells the observer what this reconcile does.
func (r *run) event(stage Stage, message string) {
	observe(r.opts.Observer, Event{App: r.result.App, Cluster: r.result.Cluster, Stage: stage, Message: message})
}

// finish completes the result with its status and error.
func (r *run) finish(status Status, err error) Result {
	r.result.Status = status
	r.result.Duration = config.Duration{Duration: time.Since(r.started).Round(time.Millisecond)}
	if err != nil {
		r.result.Err, r.result.Error = err, err.Error()
	}
	return r.result
}

// done tells the observer the result.
func (r *run) done(result Result) Result {
	observe(r.opts.Observer, Event{App: result.App, Cluster: result.Cluster, Stage: StageDone,
		Message: string(result.Status) + result.summary(), Result: &result})
	return result
}

// orFailed is status, or Failed when err is set.
func orFailed(status Status, err error) Status {
	if err != nil {
		return StatusFailed
	}
	return status
}
