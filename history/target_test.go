package history

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// recordAll records finished changes as Record does, in one transaction (thousands of changes
// in well under a second, where Record syncs each entry to disk).
func recordAll(t testing.TB, l *Ledger, changes []*Change) {
	t.Helper()
	ctx := context.Background()
	tx, err := l.store.(*SQLite).db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, c := range changes {
		result := c.Result
		begin, err := l.beginEntry(c)
		if err == nil {
			err = appendTx(ctx, tx, &begin, l.keys)
		}
		if err != nil {
			t.Fatal(err)
		}
		c.ID, c.Result = begin.Change, result
		end, err := l.endEntry(c)
		if err == nil {
			err = appendTx(ctx, tx, &end, l.keys)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// applied is a change that applied commit whole, with its snapshot.
func applied(app, cluster, commit string, trigger Trigger, result Result) *Change {
	c := change(app, cluster, commit, trigger, result)
	c.Snapshot, c.Digest = "snapshot:"+commit, "sha256:"+commit
	return c
}

// TestRollbackTargetsOlderThanTheNewestThousandChanges: a revision recorded before the pair's
// newest 1000 changes (here 1500 revisions, with failed attempts and another pair's changes in
// between) is still a rollback target, by commit and by steps, and still the last healthy one.
func TestRollbackTargetsOlderThanTheNewestThousandChanges(t *testing.T) {
	ctx := context.Background()
	l, _ := openTest(t)
	changes := []*Change{applied("shop", "east", "0ld0000000", TriggerPoll, "Healthy")}
	const revisions = 1500
	for i := range revisions {
		commit := fmt.Sprintf("c%09d", i)
		changes = append(changes, applied("shop", "east", commit, TriggerPoll, "Degraded"),
			applied("shop", "west", commit, TriggerPoll, "Healthy"))
		if i%3 == 0 {
			changes = append(changes, change("shop", "east", commit, TriggerPoll, "Failed"))
		}
	}
	recordAll(t, l, changes)
	old := changes[0]

	target, current, err := l.RollbackTarget(ctx, "shop", "east", "0ld", 0)
	if err != nil || target.ID != old.ID || current.Revision.Commit != fmt.Sprintf("c%09d", revisions-1) {
		t.Fatalf("rollback to 0ld: target %+v, current %+v, %v; want change %d, current the newest", target, current, err, old.ID)
	}
	if target, _, err := l.RollbackTarget(ctx, "shop", "east", "", revisions); err != nil || target.ID != old.ID {
		t.Errorf("rollback %d steps: %+v, %v; want change %d", revisions, target, err, old.ID)
	}
	if target, _, err := l.RollbackTarget(ctx, "shop", "east", "", 1); err != nil || target.Revision.Commit != fmt.Sprintf("c%09d", revisions-2) {
		t.Errorf("rollback 1 step: %+v, %v", target, err)
	}
	var nre *NoRevisionError
	if _, _, err := l.RollbackTarget(ctx, "shop", "east", "", revisions+1); !errors.As(err, &nre) ||
		!strings.Contains(err.Error(), fmt.Sprintf("holds %d revisions before the current one, not %d", revisions, revisions+1)) {
		t.Errorf("rollback %d steps: %v; want a NoRevisionError counting %d", revisions+1, err, revisions)
	}
	if _, _, err := l.RollbackTarget(ctx, "shop", "east", "c0000000", 0); !errors.As(err, &nre) || !strings.Contains(err.Error(), "more than one") {
		t.Errorf("rollback to an ambiguous prefix: %v; want a NoRevisionError saying it names more than one", err)
	}
	healthy, err := l.LastWhere(ctx, "shop", "east", []Result{"Healthy"}, nil)
	if err != nil || healthy == nil || healthy.ID != old.ID {
		t.Errorf("last healthy change: %+v, %v; want change %d", healthy, err, old.ID)
	}
	if v, err := l.Verify(ctx); err != nil || v.Problem != nil {
		t.Errorf("verify: %+v, %v", v, err)
	}
}
