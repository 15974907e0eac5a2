package reconciler

import (
	"context"
	"fmt"
	"sync"

	"github.com/flotilla-dev/flotilla/history"
)

// A change whose end the ledger could not record (disk full, the database locked too long)
// would stay Running in the ledger for the agent's life, and the pair's next change would start
// as if it had ended. Its end is kept in memory instead, and written before the next change of
// the pair begins; while it still cannot be written, that change is refused (nothing is
// applied). If the process stops first, the next start closes the change as Interrupted.

// unwrittenEnds are the changes whose end is not written yet, by pair.
type unwrittenEnds struct {
	mu      sync.Mutex
	changes map[history.Pair]*history.Change
}

func (u *unwrittenEnds) take(p history.Pair) *history.Change {
	u.mu.Lock()
	defer u.mu.Unlock()
	c := u.changes[p]
	delete(u.changes, p)
	return c
}

func (u *unwrittenEnds) keep(c *history.Change) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.changes == nil {
		u.changes = map[history.Pair]*history.Change{}
	}
	u.changes[history.Pair{App: c.App, Cluster: c.Cluster}] = c
}

// finishChange records how c ended; when that fails, its end is kept to be written before the
// pair's next change begins. The pair is locked by the caller.
func (s *Syncer) finishChange(ctx context.Context, c *history.Change) error {
	// The change is over even when the reconcile's context ended (a grace period ran out).
	if err := s.Ledger.Finish(context.WithoutCancel(ctx), c); err != nil {
		s.unwritten.keep(c)
		return fmt.Errorf("%w (its end is kept, to be written before the next change of %s on %s)", err, c.App, c.Cluster)
	}
	return nil
}

// beginRecord writes the end of the pair's last change if it is still unwritten, then records
// that c begins; if either fails, c must not go ahead. The pair is locked by the caller.
func (s *Syncer) beginRecord(ctx context.Context, c *history.Change) error {
	p := history.Pair{App: c.App, Cluster: c.Cluster}
	if last := s.unwritten.take(p); last != nil {
		if err := s.Ledger.Finish(context.WithoutCancel(ctx), last); err != nil {
			s.unwritten.keep(last)
			return fmt.Errorf("record the change before making it (nothing was applied): the end of change %d of %s on %s is still unwritten: %w", last.ID, c.App, c.Cluster, err)
		}
	}
	return s.Ledger.Begin(ctx, c)
}

// recordNow records a change that begins and ends at once, as beginRecord and finishChange do.
func (s *Syncer) recordNow(ctx context.Context, c *history.Change) error {
	result, errText, objects, warnings := c.Result, c.Error, c.Objects, c.Warnings
	if err := s.beginRecord(ctx, c); err != nil {
		return err
	}
	c.Result, c.Error, c.Objects, c.Warnings = result, errText, objects, warnings
	return s.finishChange(ctx, c)
}
