package history

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Retention says which changes the ledger keeps: those started within MaxAge and among the
// newest MaxChanges (a zero bound does not bound). Always kept (with every change after them,
// as the ledger drops only its oldest entries): changes still running, the rollbacks that
// pinned a pair, and for each App × Cluster its newest applied change (what runs now, which
// rollback --steps counts from) and its newest Healthy one (what auto-rollback restores).
type Retention struct {
	MaxAge     time.Duration
	MaxChanges int
}

// Retain drops the changes the retention does not keep, after writing every entry it drops to
// archive (JSON lines, as Export writes them): nothing leaves the ledger without a copy. The
// chain stays verifiable: the last dropped entry becomes its sealed anchor. It returns how many
// entries it dropped.
func (l *Ledger) Retain(ctx context.Context, keep Retention, archive io.Writer) (int, error) {
	cutoff, err := l.cutoff(ctx, keep)
	if err != nil || cutoff == 0 {
		return 0, err
	}
	enc := json.NewEncoder(archive)
	var seg segment
	stop := fmt.Errorf("stop")
	err = l.store.Scan(ctx, 0, func(e Entry) error {
		if e.Seq >= cutoff {
			return stop
		}
		seg.add(e)
		return enc.Encode(exportedOf(e))
	})
	if err != nil && err != stop {
		return 0, fmt.Errorf("archive old entries: %w", err)
	}
	n := seg.Entries
	if n == 0 {
		return 0, nil
	}
	// Each batch archived ends with a sealed trailer, as an export does.
	if err := enc.Encode(exportLine{Trailer: l.sealTrailer(seg.trailer())}); err != nil {
		return 0, fmt.Errorf("archive old entries: %w", err)
	}
	last := Entry{Seq: seg.Last, Seal: seg.LastSeal}
	if s, ok := archive.(interface{ Sync() error }); ok {
		if err := s.Sync(); err != nil {
			return 0, fmt.Errorf("archive old entries: %w", err)
		}
	}
	anchor := Mark{Seq: last.Seq, Seal: last.Seal}
	anchor.Self = l.keys.SealMark("anchor", anchor)
	// The snapshot blobs only dropped changes referred to go with them. Snapshots this process
	// is storing meanwhile wait (see PutSnapshot), and those it stored or used within blobGrace
	// stay, for changes about to begin.
	l.gc.Lock()
	defer l.gc.Unlock()
	deleted, err := l.store.Drop(ctx, anchor, ledgerRefs{l: l, since: l.now().Add(-blobGrace)})
	if err != nil {
		return 0, err
	}
	l.stored.forget(deleted)
	return n, nil
}

// cutoff is the first seq to keep: the begin of the oldest change kept (0: drop nothing).
func (l *Ledger) cutoff(ctx context.Context, keep Retention) (int64, error) {
	var oldest int64
	consider := func(f EntryFilter) error {
		entries, err := l.store.Entries(ctx, f)
		if err != nil {
			return err
		}
		if len(entries) > 0 {
			first := entries[len(entries)-1].Seq
			if oldest == 0 || first < oldest {
				oldest = first
			}
		}
		return nil
	}
	all, err := l.store.Entries(ctx, EntryFilter{Phase: PhaseBegin, Limit: 1})
	if err != nil || len(all) == 0 {
		return 0, err
	}
	f := EntryFilter{Phase: PhaseBegin}
	if keep.MaxAge > 0 {
		f.Since = l.now().Add(-keep.MaxAge)
	}
	if keep.MaxChanges > 0 {
		f.Limit = keep.MaxChanges
	}
	if keep.MaxAge <= 0 && keep.MaxChanges <= 0 {
		return 0, nil
	}
	if err := consider(f); err != nil {
		return 0, err
	}
	if oldest == 0 { // nothing is young enough: keep only the newest change and the running ones
		oldest = all[0].Seq
	}
	if err := consider(EntryFilter{Phase: PhaseBegin, Unfinished: true}); err != nil {
		return 0, err
	}
	// A pinned pair restores its rollback's snapshot on every reconcile: keep that change.
	pins, err := l.store.Pins(ctx)
	if err != nil {
		return 0, err
	}
	for _, p := range pins {
		if p.Change > 0 && p.Change < oldest {
			oldest = p.Change
		}
	}
	// Each pair keeps what runs now and what auto-rollback would restore, however quiet it is.
	if oldest, err = l.pairKeepers(ctx, oldest); err != nil {
		return 0, err
	}
	// A change begun before the cut and finished after it would lose its begin: cut before the
	// begin of every change that has an entry after the cut.
	for {
		kept, err := l.store.Entries(ctx, EntryFilter{SeqFrom: oldest})
		if err != nil {
			return 0, err
		}
		earliest := oldest
		for _, e := range kept {
			if e.Change < earliest {
				earliest = e.Change
			}
		}
		if earliest == oldest {
			break
		}
		oldest = earliest
	}
	if oldest <= 1 {
		return 0, nil
	}
	return oldest, nil
}

// pairKeepers lowers oldest to the oldest change some App × Cluster must keep: its newest
// applied change and its newest Healthy one.
func (l *Ledger) pairKeepers(ctx context.Context, oldest int64) (int64, error) {
	pairs, err := l.store.Pairs(ctx)
	if err != nil {
		return 0, err
	}
	for _, p := range pairs {
		for _, results := range [][]Result{Applied, {"Healthy"}} {
			c, err := l.Last(ctx, p.App, p.Cluster, results...)
			if err != nil {
				return 0, fmt.Errorf("retention: the changes %s on %s keeps: %w", p.App, p.Cluster, err)
			}
			if c != nil && c.ID < oldest {
				oldest = c.ID
			}
		}
	}
	return oldest, nil
}
