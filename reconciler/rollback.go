package reconciler

import (
	"context"
	"errors"
	"fmt"

	"github.com/flotilla-dev/flotilla/history"
)

// RollbackOptions say where a rollback goes and who asks.
type RollbackOptions struct {
	// To is a commit (or a prefix of one) the ledger recorded as applied to the pair; Steps,
	// when To is empty, counts revisions back from the one applied now (1: the one before).
	To    string
	Steps int
	// Reason is recorded with the change.
	Reason string
	Actor  history.Actor
	// Head is the Source's commit now: the pair stays pinned until another commit arrives
	// ("": the commit the pair runs now).
	Head string
	// ForceConflicts, ConfirmPrune and Observer are as in Options.
	ForceConflicts, ConfirmPrune bool
	Observer                     Observer
}

// ErrNoLedger: rollbacks need the ledger's snapshots.
var ErrNoLedger = errors.New("no change ledger: rollbacks restore its snapshots")

// Rollback puts the pair back on a revision the ledger recorded: it re-applies that revision's
// snapshot (no Git needed), prunes what the snapshot does not hold (the prune guard still
// applies), waits for health, and records a forward change with the actor and reason. The pair
// then stays pinned there, through polls and drift heals, until a commit other than opts.Head
// arrives or someone unpins it.
func (s *Syncer) Rollback(ctx context.Context, key AppCluster, opts RollbackOptions) Result {
	if s.Ledger == nil {
		return s.failed(key, Options{Observer: opts.Observer}, ErrNoLedger)
	}
	unlock, err := s.locks.LockContext(ctx, key.String())
	if err != nil {
		return s.failed(key, Options{Observer: opts.Observer}, err)
	}
	target, current, err := s.Ledger.RollbackTarget(ctx, key.App.Metadata.Name, key.Cluster.Metadata.Name, opts.To, opts.Steps)
	if err != nil {
		unlock()
		return s.failed(key, Options{Observer: opts.Observer}, err)
	}
	head, headDigest := opts.Head, ""
	if current != nil && (head == "" || head == current.Revision.Commit) {
		head, headDigest = current.Revision.Commit, current.Digest
	}
	cause := Cause{Trigger: history.TriggerRollback, Actor: opts.Actor, Reason: opts.Reason}
	r, result := s.restoreAndPin(ctx, key, target, pinUntil{Head: head, HeadDigest: headDigest}, Options{Wait: true, ForceConflicts: opts.ForceConflicts,
		ConfirmPrune: opts.ConfirmPrune, Observer: opts.Observer, Cause: cause})
	unlock()
	return r.done(result)
}

// pinUntil says how long the pin of a restored pair holds, and who made it.
type pinUntil struct {
	// Head and HeadDigest are the commit (and its render) the pair ran or was offered: the pin
	// holds until a commit other than Head arrives.
	Head, HeadDigest string
	// Auto: an automatic rollback (spec.health.autoRollback, a wave) made the pin.
	Auto bool
}

// restoreAndPin reconciles the pair (locked by the caller) to the change's snapshot and, unless
// that failed or was refused, pins it there until a commit other than until.Head. The caller
// tells the observer the result (run.done) once the pair is unlocked.
func (s *Syncer) restoreAndPin(ctx context.Context, key AppCluster, target *history.Change, until pinUntil, opts Options) (*run, Result) {
	restored, err := s.restore(ctx, target.ID)
	if err != nil {
		r := s.begin(key, nil, opts)
		return r, r.finish(StatusFailed, err)
	}
	r := s.begin(key, restored, opts)
	r.event(StageRollback, fmt.Sprintf("restoring %s (%s) recorded by change %d", short(target.Revision.Commit), target.Revision.Subject, target.ID))
	result := r.closeChange(ctx, r.reconcile(ctx))
	if result.Status == StatusFailed || result.Status == StatusRefused || result.Status == StatusHeld {
		return r, result
	}
	pin := history.Pin{App: result.App, Cluster: result.Cluster, Change: result.Change, Snapshot: target.Snapshot,
		Digest: target.Digest, Revision: target.Revision, Head: until.Head, HeadDigest: until.HeadDigest, Auto: until.Auto, Reason: opts.Cause.Reason}
	if err := s.Ledger.Pin(ctx, pin); err != nil {
		result.Err = errors.Join(result.Err, fmt.Errorf("rolled back, but the pin was not kept (the next poll may re-apply %s): %w", short(until.Head), err))
		result.Error = result.Err.Error()
	}
	result.Pinned = &pin
	return r, result
}

// autoRollback puts the pair (locked by the caller) back on its last healthy revision when the
// revision just applied failed health and the App asks for it (spec.health.autoRollback, or
// spec.rollout.waves: a wave's failed clusters always roll back): the failed commit stays
// pinned away until a newer one arrives. It returns the rollback's run and result, or a nil
// run when there is nothing to do.
func (s *Syncer) autoRollback(ctx context.Context, key AppCluster, rev Revision, result Result, opts Options) (*run, Result) {
	if s.Ledger == nil || !(key.App.Spec.Health.AutoRollback || hasWaves(key.App)) || !opts.Wait || opts.DryRun ||
		(result.Status != StatusDegraded && result.Status != StatusProgressing) {
		return nil, Result{}
	}
	if _, restoring := rev.(*Restored); restoring {
		return nil, Result{}
	}
	healthy, err := s.lastHealthy(ctx, key, result.Digest)
	if err != nil || healthy == nil {
		return nil, Result{}
	}
	cause := Cause{Trigger: history.TriggerAutoRollback, Actor: history.Actor{Agent: true},
		Reason: fmt.Sprintf("revision %s was %s after it was applied (change %d); back to the last healthy revision", short(result.Commit), result.Status, result.Change)}
	return s.restoreAndPin(ctx, key, healthy, pinUntil{Head: result.Commit, HeadDigest: result.Digest, Auto: true}, Options{Wait: true,
		ForceConflicts: opts.ForceConflicts, ConfirmPrune: opts.ConfirmPrune, Observer: opts.Observer, Cause: cause})
}

// lastHealthy is the newest change of the pair that ended Healthy with another render than
// digest's, among every change the ledger holds for the pair.
func (s *Syncer) lastHealthy(ctx context.Context, key AppCluster, digest string) (*history.Change, error) {
	return s.Ledger.LastWhere(ctx, key.App.Metadata.Name, key.Cluster.Metadata.Name, []history.Result{history.Result(StatusHealthy)},
		func(c *history.Change) bool { return c.Digest != digest })
}
