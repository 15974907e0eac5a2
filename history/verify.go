package history

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
)

// Verification is what Verify found.
type Verification struct {
	// Entries and Changes count what was checked.
	Entries int `json:"entries"`
	Changes int `json:"changes"`
	// First and Last are the seqs checked (after the anchor, when retention dropped older
	// entries).
	First int64 `json:"first"`
	Last  int64 `json:"last"`
	// Problem is the first thing wrong, nil when the chain is intact.
	Problem *Problem `json:"problem,omitempty"`
	// Warning says what the check could not prove (an export without a trailer).
	Warning string `json:"warning,omitempty"`
}

// Problem is the first place the chain breaks.
type Problem struct {
	// Seq is the entry concerned (for deleted entries, the first one missing).
	Seq int64 `json:"seq"`
	// Change is the change it belongs to, when known.
	Change int64 `json:"change,omitempty"`
	// Kind is "edited", "inserted", "deleted", "head", "anchor" or "trailer".
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

func (p *Problem) Error() string { return p.Message }

// entryChecker walks a chain of entries, oldest first, and finds the first broken link.
type entryChecker struct {
	keys     *Keys
	prevSeq  int64
	prevSeal string
	pending  *Entry // an entry whose seal is wrong: edited if the next links to it, else inserted
	result   Verification
	changes  map[int64]bool
}

func newChecker(keys *Keys, anchor Mark) *entryChecker {
	return &entryChecker{keys: keys, prevSeq: anchor.Seq, prevSeal: anchor.Seal, changes: map[int64]bool{}}
}

// check takes the next entry; it returns the problem found, if any.
func (c *entryChecker) check(e Entry) *Problem {
	if c.pending != nil {
		return c.pendingProblem(e.PrevSeal == c.pending.Seal)
	}
	if c.result.Entries == 0 {
		c.result.First = e.Seq
	}
	c.result.Entries++
	c.result.Last = e.Seq
	if e.Phase == PhaseBegin {
		c.changes[e.Change] = true
		c.result.Changes++
	}
	switch {
	case e.Seq > c.prevSeq+1:
		return &Problem{Seq: c.prevSeq + 1, Kind: "deleted", Message: fmt.Sprintf("entries %d to %d were deleted (entry %d follows entry %d)", c.prevSeq+1, e.Seq-1, e.Seq, c.prevSeq)}
	case !hmac.Equal([]byte(c.keys.Seal(&e)), []byte(e.Seal)):
		c.pending = &e
	case e.PrevSeal != c.prevSeal:
		return &Problem{Seq: e.Seq, Change: e.Change, Kind: "deleted", Message: fmt.Sprintf("entry %d does not follow entry %d: entries before it were deleted or renumbered", e.Seq, c.prevSeq)}
	}
	c.prevSeq, c.prevSeal = e.Seq, e.Seal
	return nil
}

// pendingProblem names the entry whose seal does not match its contents: edited when what
// follows it (the next entry, or the head mark for the last one) links to its seal, which
// only the ledger wrote; inserted when nothing does.
func (c *entryChecker) pendingProblem(linked bool) *Problem {
	bad := c.pending
	if linked {
		return &Problem{Seq: bad.Seq, Change: bad.Change, Kind: "edited", Message: fmt.Sprintf("entry %d (change %d, %s of %s/%s) was edited: its seal does not match its contents", bad.Seq, bad.Change, bad.Phase, bad.App, bad.Cluster)}
	}
	return &Problem{Seq: bad.Seq, Change: bad.Change, Kind: "inserted", Message: fmt.Sprintf("entry %d (change %d, %s of %s/%s) was not written by this ledger: it was inserted (or edited with its seal)", bad.Seq, bad.Change, bad.Phase, bad.App, bad.Cluster)}
}

// end checks the chain's end against the head mark.
func (c *entryChecker) end(head Mark) *Problem {
	if c.pending != nil {
		// The last entry's seal is wrong: edited if the head mark (sealed by the ledger) points
		// at it, seq and seal; else inserted after the ledger's last entry.
		return c.pendingProblem(c.headSealed(head) && head.Seq == c.pending.Seq && head.Seal == c.pending.Seal)
	}
	if head.Seq == 0 && c.result.Entries == 0 {
		return nil
	}
	if !c.headSealed(head) {
		return &Problem{Seq: head.Seq, Kind: "head", Message: "the ledger's head mark was edited"}
	}
	if head.Seq > c.prevSeq {
		return &Problem{Seq: c.prevSeq + 1, Kind: "deleted", Message: fmt.Sprintf("entries %d to %d were deleted from the end of the ledger", c.prevSeq+1, head.Seq)}
	}
	if head.Seq != c.prevSeq || head.Seal != c.prevSeal {
		return &Problem{Seq: c.prevSeq, Kind: "inserted", Message: fmt.Sprintf("entries after %d were inserted at the end of the ledger", head.Seq)}
	}
	return nil
}

// integrityChecker is a Store that can check its storage as a whole (see SQLite.CheckIntegrity).
type integrityChecker interface {
	CheckIntegrity(ctx context.Context) error
}

// headSealed says whether the head mark's own seal matches it.
func (c *entryChecker) headSealed(head Mark) bool {
	return hmac.Equal([]byte(c.keys.SealMark("head", head)), []byte(head.Self))
}

// Verify checks the whole chain: every entry's seal, every link to the entry before, the anchor
// and the head. It stops at the first problem, which the result names (Problem); the error is
// for failures to read, and for a store that fails its integrity check (ErrCorrupt), which
// Verify runs first.
func (l *Ledger) Verify(ctx context.Context) (*Verification, error) {
	if ic, ok := l.store.(integrityChecker); ok {
		if err := ic.CheckIntegrity(ctx); err != nil {
			return nil, err
		}
	}
	var c *entryChecker
	var problem *Problem
	stop := errors.New("stop")
	anchor, head, err := l.store.Chain(ctx, func(anchor Mark, e Entry) error {
		if c == nil {
			c = newChecker(l.keys, anchor)
			if problem = c.checkAnchor(anchor); problem != nil {
				return stop
			}
		}
		if problem = c.check(e); problem != nil {
			return stop
		}
		return nil
	})
	if err != nil && !errors.Is(err, stop) {
		return nil, err
	}
	if c == nil { // no entries
		c = newChecker(l.keys, anchor)
		problem = c.checkAnchor(anchor)
	}
	if problem == nil {
		problem = c.end(head)
	}
	c.result.Problem = problem
	return &c.result, nil
}

// checkAnchor checks the anchor's own seal, when retention set one.
func (c *entryChecker) checkAnchor(anchor Mark) *Problem {
	if anchor.Seq > 0 && !hmac.Equal([]byte(c.keys.SealMark("anchor", anchor)), []byte(anchor.Self)) {
		return &Problem{Seq: anchor.Seq, Kind: "anchor", Message: "the ledger's anchor (where the kept entries start after retention) was edited"}
	}
	return nil
}
