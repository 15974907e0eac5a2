package history

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// TestRetainKeepsEachPairsCurrentAndLastHealthyChange: count-based retention does not drop, for
// a pair that has been quiet since, the change that runs now nor its last Healthy one, so that
// rollback --steps and auto-rollback still work for it; what is older goes, whole changes only,
// and the chain still verifies.
func TestRetainKeepsEachPairsCurrentAndLastHealthyChange(t *testing.T) {
	ctx := context.Background()
	l, _ := openTest(t)
	e1 := applied("shop", "east", "e1e1", TriggerPoll, "Healthy")
	n1 := applied("shop", "north", "n1n1", TriggerPoll, "Healthy")
	n2 := applied("shop", "north", "n2n2", TriggerPoll, "Healthy")
	e2 := applied("shop", "east", "e2e2", TriggerPoll, "Healthy")
	e3 := applied("shop", "east", "e3e3", TriggerPoll, "Degraded")
	recordAll(t, l, []*Change{e1, n1, n2, e2, e3})
	for _, commit := range []string{"w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9", "wa"} {
		recordAll(t, l, []*Change{applied("shop", "west", commit, TriggerPoll, "Healthy")})
	}
	var archive bytes.Buffer
	n, err := l.Retain(ctx, Retention{MaxChanges: 3}, &archive)
	if err != nil || n != 4 {
		t.Fatalf("retain: dropped %d entries, %v; want the 4 of e1 and n1 (north keeps n2, east e2 and e3)", n, err)
	}
	for _, c := range []*Change{e1, n1} {
		if _, err := l.Get(ctx, c.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("change %d (%s) kept: %v", c.ID, c.Revision.Commit, err)
		}
	}
	for _, c := range []*Change{n2, e2, e3} {
		if got, err := l.Get(ctx, c.ID); err != nil || got.Result != c.Result {
			t.Errorf("change %d (%s): %+v, %v; want kept whole", c.ID, c.Revision.Commit, got, err)
		}
	}
	if target, current, err := l.RollbackTarget(ctx, "shop", "east", "", 1); err != nil || target.ID != e2.ID || current.ID != e3.ID {
		t.Errorf("east one step back after retention: %+v from %+v, %v; want e2 from e3", target, current, err)
	}
	if healthy, err := l.LastWhere(ctx, "shop", "east", []Result{"Healthy"}, func(c *Change) bool { return c.Digest != e3.Digest }); err != nil || healthy == nil || healthy.ID != e2.ID {
		t.Errorf("east's last healthy revision after retention: %+v, %v; want e2", healthy, err)
	}
	if v, err := l.Verify(ctx); err != nil || v.Problem != nil || v.First != n2.ID {
		t.Errorf("verify after retention: %+v, %v; want intact from n2's begin (%d)", v, err, n2.ID)
	}
	if v, err := l.VerifyExport(&archive); err != nil || v.Problem != nil || v.Entries != 4 {
		t.Errorf("verify of the archive: %+v, %v", v, err)
	}
	// Once each pair moved on, its older changes go too.
	recordAll(t, l, []*Change{applied("shop", "east", "e4e4", TriggerPoll, "Healthy"), applied("shop", "north", "n3n3", TriggerPoll, "Healthy")})
	if n, err := l.Retain(ctx, Retention{MaxChanges: 3}, &archive); err != nil || n != 2*(3+9) {
		t.Errorf("retain after east and north moved on: dropped %d entries, %v; want n2, e2, e3 and w1 to w9 (24 entries)", n, err)
	}
}
