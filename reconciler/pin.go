package reconciler

import (
	"context"
	"errors"
	"fmt"

	"github.com/flotilla-dev/flotilla/history"
)

// followPin is the pin stage, before render: a pair that a rollback pinned stays on the pinned
// snapshot while its Source is still at the commit it was pinned at (polls, drift heals and
// syncs all restore the pinned revision); a newer commit lifts the pin, recorded as an unpin
// change, and the reconcile goes on with Git. A rollback itself is not held by the pin it
// replaces.
func (r *run) followPin(ctx context.Context) error {
	l := r.syncer.Ledger
	if l == nil {
		return nil
	}
	if _, restoring := r.rev.(*Restored); restoring {
		return nil
	}
	pin, err := l.PinOf(ctx, r.result.App, r.result.Cluster)
	if err != nil || pin == nil {
		return err
	}
	commit := r.rev.Describe().Commit
	if commit != pin.Head && pin.HeadDigest != "" {
		// A commit that changes nothing of this App (another App's folder) keeps the pin.
		if m, err := r.rev.Render(ctx, r.key.App, r.key.Cluster); err == nil && m.Digest == pin.HeadDigest {
			moved := *pin
			moved.Head = commit
			if !r.opts.DryRun {
				if err := l.Pin(ctx, moved); err != nil {
					return err
				}
			}
			pin = &moved
		}
	}
	if commit == pin.Head {
		restored, err := r.syncer.restore(ctx, pin.Change)
		if err != nil {
			return fmt.Errorf("pinned by change %d, whose snapshot cannot be read (flotilla unpin lets it follow Git): %w", pin.Change, err)
		}
		r.rev, r.result.Commit, r.result.Pinned = restored, restored.From.Revision.Commit, pin
		r.event(StagePin, fmt.Sprintf("pinned at %s by change %d until a newer commit than %s (flotilla unpin to follow Git now)",
			short(pin.Revision.Commit), pin.Change, short(pin.Head)))
		return nil
	}
	if r.opts.DryRun {
		return nil // a preview of Git; the sync lifts the pin
	}
	unpin := &history.Change{App: r.result.App, Cluster: r.result.Cluster, Trigger: history.TriggerUnpin,
		Actor: r.opts.Cause.Actor, Revision: ledgerRevision(r.rev), Result: "Unpinned",
		Reason: fmt.Sprintf("commit %s arrived after the rollback to %s (change %d)", short(commit), short(pin.Revision.Commit), pin.Change)}
	if err := r.syncer.recordNow(ctx, unpin); err != nil {
		return err
	}
	if err := l.Unpin(ctx, r.result.App, r.result.Cluster); err != nil {
		return err
	}
	r.event(StagePin, "unpinned: "+unpin.Reason)
	return nil
}

// restore reads the change's snapshot back as a Revision.
func (s *Syncer) restore(ctx context.Context, id int64) (*Restored, error) {
	change, err := s.Ledger.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if change.Snapshot == "" {
		return nil, fmt.Errorf("change %d has no snapshot (it applied nothing)", id)
	}
	snapshot, err := s.Ledger.Snapshot(ctx, change.Snapshot)
	if err != nil {
		return nil, err
	}
	return &Restored{Snapshot: snapshot, From: change}, nil
}

// short is a commit's first 7 characters.
func short(commit string) string {
	if len(commit) > 7 {
		return commit[:7]
	}
	return commit
}

// Unpin lets a rolled-back pair follow its Source again: the pin is removed and the unpin is
// recorded with who asked. The next reconcile applies the Source's revision. Unpinning a pair
// that is not pinned is an error that says so.
func (s *Syncer) Unpin(ctx context.Context, key AppCluster, actor history.Actor, reason string) error {
	if s.Ledger == nil {
		return ErrNoLedger
	}
	app, cluster := key.App.Metadata.Name, key.Cluster.Metadata.Name
	unlock, err := s.locks.LockContext(ctx, key.String())
	if err != nil {
		return err
	}
	defer unlock()
	pin, err := s.Ledger.PinOf(ctx, app, cluster)
	if err != nil {
		return err
	}
	if pin == nil {
		return fmt.Errorf("%s is not pinned: %w", key, ErrNotPinned)
	}
	if reason == "" {
		reason = fmt.Sprintf("unpinned from %s (change %d)", short(pin.Revision.Commit), pin.Change)
	}
	unpin := &history.Change{App: app, Cluster: cluster, Trigger: history.TriggerUnpin, Actor: actor,
		Revision: pin.Revision, Result: "Unpinned", Reason: reason}
	if err := s.recordNow(ctx, unpin); err != nil {
		return err
	}
	return s.Ledger.Unpin(ctx, app, cluster)
}

// ErrNotPinned: the pair is not pinned.
var ErrNotPinned = errors.New("not pinned")
