package history

import (
	"context"
	"errors"
)

// endedPage bounds how many end entries eachEnded reads at a time: it starts with a few (most
// walks stop at the first change), and doubles up to the bound.
const (
	endedFirstPage = 8
	endedPage      = 256
)

// errStop ends a walk early (see eachEnded).
var errStop = errors.New("stop")

// eachEnded calls fn with each change of app on cluster that ended with one of results (any
// result when none is given) and kept a snapshot, the newest end first, reading the ledger a
// page at a time, however many changes the pair has; revision, when set, selects commits by
// prefix. fn returns errStop to end the walk early (eachEnded then returns nil). A change whose
// begin entry retention dropped is skipped.
func (l *Ledger) eachEnded(ctx context.Context, app, cluster, revision string, results []Result, fn func(*Change) error) error {
	var before int64
	for page := endedFirstPage; ; page = min(2*page, endedPage) {
		ends, err := l.store.Entries(ctx, EntryFilter{Phase: PhaseEnd, App: app, Cluster: cluster, Revision: revision,
			Results: results, SeqBefore: before, Limit: page})
		if err != nil || len(ends) == 0 {
			return err
		}
		ids := make([]int64, len(ends))
		for i, e := range ends {
			ids[i] = e.Change
		}
		begins, err := l.store.Entries(ctx, EntryFilter{Phase: PhaseBegin, Changes: ids})
		if err != nil {
			return err
		}
		beginOf := make(map[int64]Entry, len(begins))
		for _, b := range begins {
			beginOf[b.Change] = b
		}
		for _, e := range ends {
			b, ok := beginOf[e.Change]
			if !ok {
				continue
			}
			c, err := changeOf(b, e)
			if err != nil {
				return err
			}
			if c.Snapshot == "" {
				continue
			}
			if err := fn(&c); errors.Is(err, errStop) {
				return nil
			} else if err != nil {
				return err
			}
		}
		if len(ends) < page {
			return nil
		}
		before = ends[len(ends)-1].Seq
	}
}

// Last returns the newest change of app on cluster that ended with one of results and has a
// snapshot, or nil when there is none.
func (l *Ledger) Last(ctx context.Context, app, cluster string, results ...Result) (*Change, error) {
	return l.LastWhere(ctx, app, cluster, results, nil)
}

// LastWhere returns the newest change of app on cluster that ended with one of results, has a
// snapshot and that match accepts (nil accepts all), or nil when there is none: it looks
// through every change the ledger holds for the pair, not only the newest few.
func (l *Ledger) LastWhere(ctx context.Context, app, cluster string, results []Result, match func(*Change) bool) (*Change, error) {
	var found *Change
	err := l.eachEnded(ctx, app, cluster, "", results, func(c *Change) error {
		if match == nil || match(c) {
			found = c
			return errStop
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return found, nil
}
