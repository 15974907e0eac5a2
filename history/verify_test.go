package history

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sqlite3 runs SQL on the ledger's database with the sqlite3 CLI, as someone editing it by hand
// would.
func sqlite3(t *testing.T, dir, sql string) {
	t.Helper()
	if _, err := exec.LookPath("sqlite3"); err != nil {
		t.Fatal("the sqlite3 CLI is needed (apt-get install sqlite3; .ci/run installs it)")
	}
	out, err := exec.Command("sqlite3", filepath.Join(dir, DatabaseFile), sql).CombinedOutput()
	if err != nil {
		t.Fatalf("sqlite3 %q: %v\n%s", sql, err, out)
	}
}

func TestVerifyNamesTheFirstTamperedEntry(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sql    string
		kind   string
		seq    int64
		inText string
	}{
		{"untouched", "", "", 0, ""},
		{"result edited", "UPDATE entries SET result = 'Healthy' WHERE seq = 4", "edited", 4, "entry 4 (change 3, end of shop/west) was edited"},
		{"body edited", "UPDATE entries SET body = replace(body, 'replicas: 2', 'replicas: 9') WHERE seq = 2", "edited", 2, "entry 2"},
		{"time edited", "UPDATE entries SET at = at - 1000000000 WHERE seq = 5", "edited", 5, "entry 5"},
		{"row deleted in the middle", "DELETE FROM entries WHERE seq = 3", "deleted", 3, "entries 3 to 3 were deleted"},
		{"last rows deleted", "DELETE FROM entries WHERE seq >= 5", "deleted", 5, "from the end"},
		{"last entry edited", "UPDATE entries SET result = 'Failed' WHERE seq = 6", "edited", 6, "entry 6 (change 5, end of shop/east) was edited"},
		{"last entry's body edited", "UPDATE entries SET body = replace(body, 'replicas: 2', 'replicas: 9') WHERE seq = 6", "edited", 6, "entry 6"},
		{"row inserted at the end", "INSERT INTO entries SELECT 7, 7, phase, at, app, cluster, trigger_name, revision, author, result, body, seal, seal FROM entries WHERE seq = 6", "inserted", 7, "entry 7"},
		{"renumbered after a delete", "DELETE FROM entries WHERE seq = 3; UPDATE entries SET seq = seq - 1 WHERE seq > 3", "edited", 3, "entry 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			l, dir := openTest(t)
			record(t, l, change("shop", "east", "aaaa1111", TriggerPoll, "Healthy"))
			record(t, l, change("shop", "west", "aaaa1111", TriggerPoll, "Failed"))
			record(t, l, change("shop", "east", "bbbb2222", TriggerWebhook, "Healthy"))
			if tc.sql != "" {
				sqlite3(t, dir, tc.sql)
			}
			v, err := l.Verify(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tc.kind == "" {
				if v.Problem != nil || v.Entries != 6 || v.Changes != 3 {
					t.Errorf("untouched ledger: %+v, problem %v; want 6 entries, 3 changes, no problem", v, v.Problem)
				}
				return
			}
			if v.Problem == nil {
				t.Fatalf("verify found nothing wrong after %s", tc.sql)
			}
			if v.Problem.Kind != tc.kind || v.Problem.Seq != tc.seq || !strings.Contains(v.Problem.Message, tc.inText) {
				t.Errorf("problem %+v; want %s at entry %d saying %q", v.Problem, tc.kind, tc.seq, tc.inText)
			}
		})
	}
}

func TestExportThenVerifyRoundTrips(t *testing.T) {
	ctx := context.Background()
	l, _ := openTest(t)
	for _, commit := range []string{"aaaa", "bbbb", "cccc"} {
		record(t, l, change("shop", "east", commit, TriggerPoll, "Healthy"))
	}
	var out bytes.Buffer
	n, err := l.Export(ctx, &out, l.now().Add(-1e12))
	if err != nil || n != 6 {
		t.Fatalf("export: %d entries, %v; want 6", n, err)
	}
	v, err := l.VerifyExport(bytes.NewReader(out.Bytes()))
	if err != nil || v.Problem != nil || v.Entries != 6 {
		t.Fatalf("verify of the export: %+v, %v", v, err)
	}
	// The export is an archive: an edited line shows.
	edited := bytes.Replace(out.Bytes(), []byte(`"result":"Healthy"`), []byte(`"result":"Failed!"`), 1)
	v, err = l.VerifyExport(bytes.NewReader(edited))
	if err != nil || v.Problem == nil || v.Problem.Seq != 2 {
		t.Errorf("verify of an edited export: %+v, %v; want the second entry named", v, err)
	}
}

func TestRetainArchivesThenDropsAndTheChainStillVerifies(t *testing.T) {
	ctx := context.Background()
	l, dir := openTest(t)
	for _, commit := range []string{"aaaa", "bbbb", "cccc", "dddd", "eeee"} {
		record(t, l, change("shop", "east", commit, TriggerPoll, "Healthy"))
	}
	var archive bytes.Buffer
	n, err := l.Retain(ctx, Retention{MaxChanges: 2}, &archive)
	if err != nil || n != 6 {
		t.Fatalf("retain: dropped %d, %v; want the 6 entries of the 3 oldest changes", n, err)
	}
	if lines := strings.Count(archive.String(), "\n"); lines != 7 {
		t.Errorf("archive holds %d lines, want 7 (6 entries and a trailer)", lines)
	}
	left, err := l.List(ctx, Filter{})
	if err != nil || len(left) != 2 || left[1].Revision.Commit != "dddd" {
		t.Fatalf("after retention: %+v, %v; want dddd and eeee", left, err)
	}
	if v, err := l.Verify(ctx); err != nil || v.Problem != nil || v.First != 7 {
		t.Errorf("verify after retention: %+v (problem %v), %v; want intact from entry 7", v, v.Problem, err)
	}
	if v, err := l.VerifyExport(&archive); err != nil || v.Problem != nil || v.Entries != 6 {
		t.Errorf("verify of the archive: %+v, %v", v, err)
	}
	// A pin keeps its rollback's change (and what follows it) through retention.
	pinned := record(t, l, change("shop", "east", "ffff", TriggerRollback, "Healthy"))
	if err := l.Pin(ctx, Pin{App: "shop", Cluster: "east", Change: pinned.ID, Head: "eeee"}); err != nil {
		t.Fatal(err)
	}
	record(t, l, change("shop", "east", "gggg", TriggerDrift, "Synced"))
	if n, err := l.Retain(ctx, Retention{MaxChanges: 1}, &archive); err != nil || n != 4 {
		t.Errorf("retention with a pin: dropped %d, %v; want the 4 entries before the pinning rollback", n, err)
	}
	if _, err := l.Get(ctx, pinned.ID); err != nil {
		t.Errorf("the pinning rollback was dropped: %v", err)
	}
	sqlite3(t, dir, "UPDATE marks SET seq = 4 WHERE kind = 'anchor'")
	if v, err := l.Verify(ctx); err != nil || v.Problem == nil || v.Problem.Kind != "anchor" {
		t.Errorf("verify after the anchor was moved: %+v, %v; want the anchor named", v, err)
	}
}

// TestVerifyWhileAppending: a verification that runs while changes are recorded (the agent
// goes on while an auditor checks) reads one moment of the chain and finds nothing wrong.
func TestVerifyWhileAppending(t *testing.T) {
	ctx := context.Background()
	l, dir := openTest(t)
	other, err := Open(ctx, dir) // another process's view of the same files
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 200 {
			if err := other.Record(ctx, change("shop", "east", "aaaa", TriggerPoll, "Healthy")); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for checks := 0; ; checks++ {
		select {
		case <-done:
			if checks == 0 {
				t.Log("appends ended before the first verification")
			}
			return
		default:
		}
		v, err := l.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v.Problem != nil {
			t.Fatalf("verification %d while appending: %s", checks, v.Problem.Message)
		}
	}
}

// TestRetainNeverSplitsAChange: changes of two pairs that interleave (begin A, begin B, end A,
// end B) are dropped or kept whole, and the newest change is kept even when every change is
// older than the retention keeps.
func TestRetainNeverSplitsAChange(t *testing.T) {
	ctx := context.Background()
	l, _ := openTest(t)
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l.now = func() time.Time { clock = clock.Add(time.Minute); return clock }
	a, b := change("shop", "east", "aaaa", TriggerPoll, ""), change("shop", "west", "aaaa", TriggerPoll, "")
	for _, c := range []*Change{a, b} {
		if err := l.Begin(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*Change{a, b} {
		c.Result = "Healthy"
		if err := l.Finish(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	var archive bytes.Buffer
	if _, err := l.Retain(ctx, Retention{MaxChanges: 1}, &archive); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Change{a, b} {
		if got, err := l.Get(ctx, c.ID); err == nil && got.Result != "Healthy" {
			t.Errorf("change %d kept without its end: %+v", c.ID, got)
		}
	}
	if got, err := l.Get(ctx, b.ID); err != nil {
		t.Errorf("the newest change was dropped: %v", err)
	} else if got.Result != "Healthy" {
		t.Errorf("the newest change lost its end: %+v", got)
	}
	if last, err := l.Last(ctx, "shop", "east"); err != nil {
		t.Errorf("Last after retention: %v", err)
	} else if last != nil {
		t.Errorf("Last found %+v; want nothing (no snapshot)", last)
	}
	// Everything older than the retention: the newest change stays.
	if _, err := l.Retain(ctx, Retention{MaxAge: time.Second}, &archive); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Get(ctx, b.ID); err != nil {
		t.Errorf("retention by age dropped the newest change: %v", err)
	}
	if v, err := l.Verify(ctx); err != nil || v.Problem != nil {
		t.Errorf("verify after retention: %+v, %v", v, err)
	}
}
