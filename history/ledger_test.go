package history

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// openTest opens a ledger in a new temporary state folder.
func openTest(t testing.TB) (*Ledger, string) {
	t.Helper()
	dir := t.TempDir()
	l, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, dir
}

// change is a finished sync of app on cluster at commit.
func change(app, cluster, commit string, trigger Trigger, result Result) *Change {
	return &Change{App: app, Cluster: cluster, Trigger: trigger,
		Revision: Revision{Commit: commit, Subject: "subject of " + commit, Author: "Ann Author <ann@example.com>", Committer: "Cy Committer <cy@example.com>"},
		Actor:    Actor{Agent: true}, Result: result,
		Objects: []ObjectChange{{Object: "Deployment.apps/shop/web", Action: "configured", Diff: "-replicas: 1\n+replicas: 2\n"}}}
}

func record(t testing.TB, l *Ledger, c *Change) *Change {
	t.Helper()
	if err := l.Record(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBeginFinishAndGet(t *testing.T) {
	ctx := context.Background()
	l, _ := openTest(t)
	c := change("shop", "east", "aaaa1111", TriggerWebhook, "")
	c.Result = ""
	if err := l.Begin(ctx, c); err != nil {
		t.Fatal(err)
	}
	running, err := l.Get(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if running.Result != ResultRunning || !running.Finished.IsZero() || len(running.Objects) != 0 {
		t.Errorf("a begun change reads back as %s, finished %v, %d objects; want Running, not finished, none", running.Result, running.Finished, len(running.Objects))
	}
	c.Result, c.Error = "Healthy", ""
	if err := l.Finish(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := l.Get(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, got, cmpopts.EquateApproxTime(time.Microsecond)); diff != "" {
		t.Errorf("change read back (-written +read):\n%s", diff)
	}
	if _, err := l.Get(ctx, 999); err == nil {
		t.Error("Get of a change that does not exist: no error")
	}
}

func TestListFilters(t *testing.T) {
	ctx := context.Background()
	l, _ := openTest(t)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := base
	l.now = func() time.Time { clock = clock.Add(time.Minute); return clock }
	record(t, l, change("shop", "east", "aaaa1111", TriggerPoll, "Healthy"))
	record(t, l, change("shop", "west", "aaaa1111", TriggerPoll, "Healthy"))
	drift := change("shop", "east", "aaaa1111", TriggerDrift, "Synced")
	drift.Drift = []string{"Deployment.apps/shop/web: .spec.replicas by kubectl-scale"}
	record(t, l, drift)
	manual := change("blog", "east", "bbbb2222", TriggerManual, "Failed")
	manual.Actor, manual.Revision.Author = Actor{User: "zoe"}, "Bo <bo@example.com>"
	record(t, l, manual)

	ids := func(cs []Change) []int64 {
		var out []int64
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		filter Filter
		want   []int64
	}{
		{"all, newest first", Filter{}, []int64{7, 5, 3, 1}},
		{"app", Filter{App: "shop"}, []int64{5, 3, 1}},
		{"app and cluster", Filter{App: "shop", Cluster: "east"}, []int64{5, 1}},
		{"trigger", Filter{Trigger: TriggerDrift}, []int64{5}},
		{"revision prefix, any case", Filter{Revision: "BBBB"}, []int64{7}},
		{"author of the commit", Filter{Author: "bo@"}, []int64{7}},
		{"committer", Filter{Author: "cy committer"}, []int64{7, 5, 3, 1}},
		{"actor", Filter{Author: "zoe"}, []int64{7}},
		{"since", Filter{Since: base.Add(4 * time.Minute)}, []int64{7, 5}},
		{"until", Filter{Until: base.Add(4 * time.Minute)}, []int64{3, 1}},
		{"limit", Filter{Limit: 1}, []int64{7}},
		{"nothing", Filter{App: "nope"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := l.List(ctx, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, ids(got)); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
		})
	}
	got, _ := l.List(ctx, Filter{Trigger: TriggerDrift})
	if len(got) != 1 || len(got[0].Drift) != 1 || got[0].Result != "Synced" {
		t.Errorf("the drift heal reads back as %+v", got)
	}
}

func TestCloseInterruptedClosesOnlyChangesOfGoneProcesses(t *testing.T) {
	ctx := context.Background()
	l, dir := openTest(t)
	// A process that is gone: run one, let it exit, and use its pid.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	gone := change("shop", "east", "aaaa1111", TriggerPoll, "")
	if err := l.Begin(ctx, gone); err != nil {
		t.Fatal(err)
	}
	// Rewrite the begin entry's process as the gone one's: through a second ledger whose
	// process id is the dead process's.
	other := change("shop", "west", "aaaa1111", TriggerPoll, "")
	l2, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	host, _ := os.Hostname()
	l2.process = fmt.Sprintf("%d@%s", cmd.Process.Pid, host)
	if err := l2.Begin(ctx, other); err != nil {
		t.Fatal(err)
	}
	closed, err := l.CloseInterrupted(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// This process's own open change counts as an earlier process's (same pid) and closes too.
	if len(closed) != 2 {
		t.Fatalf("closed %d changes, want 2 (a dead process's and one with this pid)", len(closed))
	}
	for _, c := range []*Change{gone, other} {
		got, err := l.Get(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Result != ResultInterrupted || got.Error == "" {
			t.Errorf("change %d: %s %q, want Interrupted with why", c.ID, got.Result, got.Error)
		}
	}
	if v, err := l.Verify(ctx); err != nil || v.Problem != nil {
		t.Errorf("verify after closing: %+v, %v", v, err)
	}
	// A change of a process of this host that still runs (this test's parent) stays open.
	l2.process = fmt.Sprintf("%d@%s", os.Getppid(), host)
	live := change("shop", "north", "aaaa1111", TriggerPoll, "")
	if err := l2.Begin(ctx, live); err != nil {
		t.Fatal(err)
	}
	if closed, err := l.CloseInterrupted(ctx); err != nil || len(closed) != 0 {
		t.Errorf("second pass closed %d (%v), want none", len(closed), err)
	}
	// One begun on another host is from an earlier life of the state folder (a pod renamed).
	l2.process = "1@an-earlier-pod"
	if err := l2.Begin(ctx, change("shop", "south", "aaaa1111", TriggerPoll, "")); err != nil {
		t.Fatal(err)
	}
	if closed, err := l.CloseInterrupted(ctx); err != nil || len(closed) != 1 || closed[0].Cluster != "south" {
		t.Errorf("third pass closed %+v (%v), want the other host's change", closed, err)
	}
}

func TestRollbackTargetCountsRevisionsFromGit(t *testing.T) {
	ctx := context.Background()
	l, _ := openTest(t)
	applied := func(commit string, trigger Trigger) {
		c := change("shop", "east", commit, trigger, "Healthy")
		c.Snapshot, c.Digest = "snapshot:"+commit, "sha256:"+commit
		record(t, l, c)
	}
	applied("aaaa", TriggerPoll)
	applied("bbbb", TriggerPoll)
	applied("cccc", TriggerPoll)
	commitOf := func(to string, steps int) string {
		t.Helper()
		target, _, err := l.RollbackTarget(ctx, "shop", "east", to, steps)
		if err != nil {
			return err.Error()
		}
		return target.Revision.Commit
	}
	if got := commitOf("", 1); got != "bbbb" {
		t.Errorf("one step back from cccc: %s", got)
	}
	applied("bbbb", TriggerRollback) // now on bbbb
	if got := commitOf("", 1); got != "aaaa" {
		t.Errorf("one step back after the rollback to bbbb: %s, want aaaa", got)
	}
	if got := commitOf("", 2); !strings.Contains(got, "holds 1 revision before the current one, not 2") {
		t.Errorf("two steps back from bbbb: %s", got)
	}
	if got := commitOf("cc", 0); got != "cccc" {
		t.Errorf("to cc: %s", got)
	}
}
