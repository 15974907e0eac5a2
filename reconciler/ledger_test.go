package reconciler_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/reconciler"
)

// ledgerSyncer is a Syncer that records into a ledger of its own.
func ledgerSyncer(t *testing.T) (*reconciler.Syncer, *history.Ledger) {
	t.Helper()
	l, err := history.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	s := reconciler.NewSyncer(t.TempDir())
	s.Ledger = l
	return s, l
}

// changesOf lists the pair's changes, oldest first.
func changesOf(t *testing.T, l *history.Ledger, app, cluster string) []history.Change {
	t.Helper()
	changes, err := l.List(context.Background(), history.Filter{App: app, Cluster: cluster})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(changes)-1; i < j; i, j = i+1, j-1 {
		changes[i], changes[j] = changes[j], changes[i]
	}
	return changes
}

// TestLedgerRecordsEachCommit: after N commits, the ledger holds N syncs of the pair, each with
// its commit, author and subject, who ran it, and a field-level diff; a sync that changes
// nothing at the same commit adds no record.
func TestLedgerRecordsEachCommit(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	repo := appRepo(t, ns, map[string]string{"a.yaml": configMap("a", "1")})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app", Sync: config.SyncPolicy{Prune: true}}, ns)
	s, l := ledgerSyncer(t)
	opts := reconciler.Options{Cluster: "dev", Cause: reconciler.Cause{Actor: history.Actor{User: "alice"}}}
	var commits []string
	for _, value := range []string{"1", "2", "3"} {
		if value != "1" {
			writeApp(t, repo, ns, map[string]string{"a.yaml": configMap("a", value), "b" + value + ".yaml": configMap("b"+value, value)})
		}
		commits = append(commits, head(t, repo))
		if r := syncOK(t, s, cfg, opts)[0]; r.Change == 0 {
			t.Fatalf("commit %s: the result names no ledger change", value)
		}
	}
	syncOK(t, s, cfg, reconciler.Options{Cluster: "dev", Cause: reconciler.Cause{Trigger: history.TriggerPoll}})
	changes := changesOf(t, l, ns, "dev")
	if len(changes) != 3 {
		t.Fatalf("%d changes recorded, want 3 (one per commit; the no-op poll adds none): %+v", len(changes), changes)
	}
	for i, ch := range changes {
		if ch.Revision.Commit != commits[i] || ch.Revision.Author == "" || ch.Revision.Subject != "app" ||
			ch.Actor.User != "alice" || ch.Trigger != history.TriggerManual || ch.Result != "Synced" || ch.Snapshot == "" {
			t.Errorf("change %d: %+v", i, ch)
		}
	}
	third := changes[2]
	want := map[string]string{
		"ConfigMap/" + ns + "/a":  "configured",
		"ConfigMap/" + ns + "/b3": "created",
		"ConfigMap/" + ns + "/b2": "pruned",
	}
	for _, o := range third.Objects {
		if want[o.Object] != o.Action {
			t.Errorf("third change: %s %s, want %q", o.Object, o.Action, want[o.Object])
		}
		delete(want, o.Object)
		if o.Object == "ConfigMap/"+ns+"/a" && (!strings.Contains(o.Diff, `-  value: "2"`) || !strings.Contains(o.Diff, `+  value: "3"`)) {
			t.Errorf("diff of configmap a:\n%s", o.Diff)
		}
	}
	if len(want) > 0 {
		t.Errorf("third change lacks %v: %+v", want, third.Objects)
	}
}

// TestRollbackRestoresWithoutGitAndStaysPinned: a rollback puts back exactly the objects of an
// earlier revision, even after a force-push removed its commit from Git, and with the Git
// server gone; the pair then stays on it through syncs of the same head until a newer commit.
func TestRollbackRestoresWithoutGitAndStaysPinned(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	repo := appRepo(t, ns, map[string]string{"a.yaml": configMap("a", "1"), "b.yaml": configMap("b", "1")})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app", Sync: config.SyncPolicy{Prune: true}}, ns)
	s, l := ledgerSyncer(t)
	opts := reconciler.Options{Cluster: "dev"}
	first := head(t, repo)
	syncOK(t, s, cfg, opts)
	writeApp(t, repo, ns, map[string]string{"a.yaml": configMap("a", "2"), "c.yaml": configMap("c", "2")})
	second := head(t, repo)
	syncOK(t, s, cfg, opts)
	// Force-push: main now starts over; the first commit is gone from the branch.
	repo.Git("checkout", "--orphan", "rewritten")
	writeApp(t, repo, ns, map[string]string{"a.yaml": configMap("a", "3")})
	for _, args := range [][]string{{"reflog", "expire", "--expire=now", "--all"}, {"gc", "--prune=now", "--quiet"}} {
		if out, err := exec.Command("git", append([]string{"-C", repo.Bare}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if err := exec.Command("git", "-C", repo.Bare, "cat-file", "-e", first).Run(); err == nil {
		t.Fatal("the first commit is still in the repository")
	}
	rewritten := head(t, repo)
	syncOK(t, s, cfg, opts)
	values := func() string {
		return fleettest.Kubectl(t, c, "-n", ns, "get", "configmaps", "-l", "app.kubernetes.io/managed-by=flotilla",
			"-o", `jsonpath={range .items[*]}{.metadata.name}={.data.value} {end}`)
	}
	if got := values(); got != "a=3 " {
		t.Fatalf("after the force-push: %q", got)
	}

	key := reconciler.AppCluster{App: &cfg.Apps[0], Cluster: &cfg.Clusters[0]}
	r := s.Rollback(context.Background(), key, reconciler.RollbackOptions{To: first[:8], Reason: "bad config in a", Actor: history.Actor{User: "oncall"}})
	if r.Status == reconciler.StatusFailed || r.Status == reconciler.StatusRefused || r.Pinned == nil {
		t.Fatalf("rollback: %s %s, pinned %v", r.Status, r.Error, r.Pinned)
	}
	if got := values(); got != "a=1 b=1 " {
		t.Errorf("after the rollback to the removed commit: %q, want a=1 b=1", got)
	}
	// A sync of the same head keeps the pinned revision.
	if r := syncOK(t, s, cfg, opts)[0]; r.Commit != first || r.Pinned == nil {
		t.Errorf("sync of the same head while pinned: commit %s, pinned %v; want %s, pinned", r.Commit, r.Pinned, first)
	}
	if got := values(); got != "a=1 b=1 " {
		t.Errorf("after a sync while pinned: %q", got)
	}
	// diff compares the pinned revision too: no differences, and it says it is pinned.
	diffs, err := s.Diff(context.Background(), cfg, opts)
	if err != nil || len(diffs) != 1 || diffs[0].Pinned == nil || len(diffs[0].Objects) != 0 || diffs[0].Commit != first {
		t.Errorf("diff while pinned: %+v, %v; want no differences against %s, pinned", diffs, err, first)
	}

	// With the Git server gone, a rollback still works: to the second revision.
	hidden := repo.Bare + ".away"
	if err := os.Rename(repo.Bare, hidden); err != nil {
		t.Fatal(err)
	}
	r = s.Rollback(context.Background(), key, reconciler.RollbackOptions{To: second, Actor: history.Actor{User: "oncall"}, Head: rewritten})
	if err := os.Rename(hidden, repo.Bare); err != nil {
		t.Fatal(err)
	}
	if r.Status == reconciler.StatusFailed || r.Status == reconciler.StatusRefused {
		t.Fatalf("rollback without Git: %s %s", r.Status, r.Error)
	}
	if got := values(); got != "a=2 c=2 " {
		t.Errorf("after the rollback without Git: %q, want a=2 c=2", got)
	}

	// A newer commit lifts the pin.
	writeApp(t, repo, ns, map[string]string{"a.yaml": configMap("a", "4")})
	if r := syncOK(t, s, cfg, opts)[0]; r.Commit != head(t, repo) || r.Pinned != nil {
		t.Errorf("sync of a newer commit: commit %s, pinned %v; want %s, unpinned", r.Commit, r.Pinned, head(t, repo))
	}
	if got := values(); got != "a=4 " {
		t.Errorf("after the newer commit: %q", got)
	}
	var triggers []string
	for _, ch := range changesOf(t, l, ns, "dev") {
		triggers = append(triggers, string(ch.Trigger)+":"+string(ch.Result))
		if ch.Trigger == history.TriggerRollback && (ch.Actor.User != "oncall" || ch.RestoredFrom == 0) {
			t.Errorf("rollback change: %+v", ch)
		}
	}
	// The sync while pinned is a manual sync: recorded, restoring the pinned snapshot.
	wantTriggers := "manual:Synced manual:Synced manual:Synced rollback:Healthy manual:Synced rollback:Healthy unpin:Unpinned manual:Synced"
	if got := strings.Join(triggers, " "); got != wantTriggers {
		t.Errorf("ledger: %s\nwant     %s", got, wantTriggers)
	}
}

// failingStore is a ledger store whose writes fail, as on a full disk.
type failingStore struct{ history.Store }

var errDiskFull = errors.New("disk I/O error: database or disk is full")

func (failingStore) Append(context.Context, *history.Entry, history.Sealer) error { return errDiskFull }
func (failingStore) PutBlobs(context.Context, []history.Blob) error               { return errDiskFull }

// TestNoApplyWithoutItsRecord: when the ledger cannot record a change, nothing is applied and
// the result says why.
func TestNoApplyWithoutItsRecord(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	repo := appRepo(t, ns, map[string]string{"a.yaml": configMap("a", "1")})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app"}, ns)
	dir := t.TempDir()
	real, err := history.OpenSQLite(context.Background(), dir+"/ledger.db")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := history.LoadKeys(dir + "/ledger.key")
	if err != nil {
		t.Fatal(err)
	}
	s := reconciler.NewSyncer(t.TempDir())
	s.Ledger = history.New(failingStore{real}, keys)
	defer s.Ledger.Close()
	results, err := s.Sync(context.Background(), cfg, reconciler.Options{Cluster: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	if r := results[0]; r.Status != reconciler.StatusFailed || !strings.Contains(r.Error, "nothing was applied") || !errors.Is(r.Err, errDiskFull) {
		t.Fatalf("status %s, error %q; want Failed saying nothing was applied, wrapping the disk error", r.Status, r.Error)
	}
	if _, err := fleettest.KubectlResult(c, "-n", ns, "get", "configmap/a"); err == nil {
		t.Error("configmap a was applied without its record")
	}
}

// endFailingStore is a ledger store whose end entries fail to be written while failEnds is
// set, as when the disk fills up while a change is applied.
type endFailingStore struct {
	history.Store
	failEnds atomic.Bool
}

func (f *endFailingStore) Append(ctx context.Context, e *history.Entry, s history.Sealer) error {
	if e.Phase == history.PhaseEnd && f.failEnds.Load() {
		return errDiskFull
	}
	return f.Store.Append(ctx, e, s)
}

// TestNoApplyWhileTheLastEndIsUnwritten: a change whose end cannot be written is not left
// Running while the pair's next change goes ahead: the next change is refused (nothing applied)
// until that end is written, and then the end is written first, with when the change ended.
func TestNoApplyWhileTheLastEndIsUnwritten(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	repo := appRepo(t, ns, map[string]string{"a.yaml": configMap("a", "1")})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app"}, ns)
	dir := t.TempDir()
	real, err := history.OpenSQLite(context.Background(), dir+"/ledger.db")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := history.LoadKeys(dir + "/ledger.key")
	if err != nil {
		t.Fatal(err)
	}
	store := &endFailingStore{Store: real}
	store.failEnds.Store(true)
	s := reconciler.NewSyncer(t.TempDir())
	s.Ledger = history.New(store, keys)
	defer s.Ledger.Close()
	sync := func() reconciler.Result {
		t.Helper()
		results, err := s.Sync(context.Background(), cfg, reconciler.Options{Cluster: "dev"})
		if err != nil {
			t.Fatal(err)
		}
		return results[0]
	}
	value := func() string {
		return fleettest.Kubectl(t, c, "-n", ns, "get", "configmap/a", "-o", "jsonpath={.data.value}")
	}
	// The first change applies, and its end cannot be written.
	first := sync()
	if first.Status != reconciler.StatusFailed || first.Change == 0 || !errors.Is(first.Err, errDiskFull) || value() != "1" {
		t.Fatalf("first sync: %s %q, change %d, a=%s; want applied, Failed for its unwritten end", first.Status, first.Error, first.Change, value())
	}
	ended := time.Now()
	// The next change of the pair is refused while that end still cannot be written.
	writeApp(t, repo, ns, map[string]string{"a.yaml": configMap("a", "2")})
	r := sync()
	if r.Status != reconciler.StatusFailed || !strings.Contains(r.Error, "nothing was applied") || !errors.Is(r.Err, errDiskFull) ||
		!strings.Contains(r.Error, fmt.Sprintf("end of change %d", first.Change)) {
		t.Errorf("second sync: %s %q; want Failed saying nothing was applied while the end of change %d is unwritten", r.Status, r.Error, first.Change)
	}
	if got := value(); got != "1" {
		t.Errorf("a=%s after the refused sync; want still 1", got)
	}
	if changes := changesOf(t, s.Ledger, ns, "dev"); len(changes) != 1 || changes[0].Result != history.ResultRunning {
		t.Errorf("ledger while the end is unwritten: %+v; want the first change alone, Running", changes)
	}
	// Once the ledger can be written again, the end goes first, then the next change.
	store.failEnds.Store(false)
	if r := sync(); r.Status != reconciler.StatusSynced || value() != "2" {
		t.Fatalf("third sync: %s %q, a=%s; want Synced, a=2", r.Status, r.Error, value())
	}
	changes := changesOf(t, s.Ledger, ns, "dev")
	if len(changes) != 2 || changes[0].ID != first.Change || changes[0].Result != "Synced" || changes[0].Finished.After(ended) ||
		changes[1].Result != "Synced" || changes[1].Revision.Commit != head(t, repo) {
		t.Errorf("ledger after the end was written: %+v; want change %d Synced (ended before %v), then the second commit Synced", changes, first.Change, ended)
	}
	if v, err := s.Ledger.Verify(context.Background()); err != nil || v.Problem != nil {
		t.Errorf("verify: %+v, %v", v, err)
	}
}

// TestAutoRollbackOfARevisionThatFailsHealth: with health.autoRollback, a commit whose
// Deployment cannot become ready is rolled back to the last healthy revision and pinned away;
// the ledger shows the failed sync and the rollback; the next good commit deploys normally.
func TestAutoRollbackOfARevisionThatFailsHealth(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	repo := appRepo(t, ns, map[string]string{"web.yaml": deployment})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app", Sync: config.SyncPolicy{Prune: true},
		Health: config.HealthPolicy{Timeout: config.Duration{Duration: 90 * time.Second}, AutoRollback: true}}, ns)
	s, l := ledgerSyncer(t)
	opts := reconciler.Options{Cluster: "dev", Wait: true}
	if r := syncOK(t, s, cfg, opts)[0]; r.Status != reconciler.StatusHealthy {
		t.Fatalf("first revision: %s %s", r.Status, r.Error)
	}
	good := head(t, repo)
	stuck := strings.Replace(deployment, "spec:\n  replicas: 2", "spec:\n  replicas: 2\n  progressDeadlineSeconds: 5", 1)
	stuck = strings.Replace(stuck, "    spec:\n", "    spec:\n      nodeSelector: {no-such-node: \"true\"}\n", 1)
	writeApp(t, repo, ns, map[string]string{"web.yaml": stuck})
	bad := head(t, repo)
	results, err := s.Sync(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	r := results[0]
	if r.Status != reconciler.StatusDegraded || r.AutoRollback == nil {
		t.Fatalf("bad revision: %s %q, auto-rollback %v; want Degraded and rolled back", r.Status, r.Error, r.AutoRollback)
	}
	if rb := r.AutoRollback; rb.Commit != good || rb.Pinned == nil || !rb.Pinned.Auto || rb.Pinned.Head != bad {
		t.Fatalf("auto-rollback: commit %s (want %s), pinned %+v", rb.Commit, good, rb.Pinned)
	}
	if sel := fleettest.Kubectl(t, c, "-n", ns, "get", "deployment/web", "-o", "jsonpath={.spec.template.spec.nodeSelector}"); sel != "" {
		t.Errorf("after the auto-rollback the Deployment still has nodeSelector %s", sel)
	}
	// The bad commit is not retried: a sync of the same head stays on the good revision.
	if r := syncOK(t, s, cfg, opts)[0]; r.Commit != good {
		t.Errorf("sync of the bad head again: commit %s, want the good %s", r.Commit, good)
	}
	// Nor by a commit that leaves the App alone (another App's folder of the repository).
	repo.Write(map[string]string{"other-app/notes.txt": "unrelated\n"})
	repo.Commit("another App")
	if r := syncOK(t, s, cfg, opts)[0]; r.Commit != good || r.Pinned == nil || r.Pinned.Head != head(t, repo) {
		t.Errorf("sync of a commit outside the App: commit %s, pinned %+v; want still on the good %s", r.Commit, r.Pinned, good)
	}
	writeApp(t, repo, ns, map[string]string{"web.yaml": strings.Replace(deployment, "replicas: 2", "replicas: 3", 1)})
	if r := syncOK(t, s, cfg, opts)[0]; r.Status != reconciler.StatusHealthy || r.Commit != head(t, repo) {
		t.Errorf("next good commit: %s %s at %s", r.Status, r.Error, r.Commit)
	}
	var got []string
	for _, ch := range changesOf(t, l, ns, "dev") {
		got = append(got, string(ch.Trigger)+":"+string(ch.Result))
	}
	want := "manual:Healthy manual:Degraded auto-rollback:Healthy manual:Healthy manual:Healthy unpin:Unpinned manual:Healthy"
	if strings.Join(got, " ") != want {
		t.Errorf("ledger: %s\nwant     %s", strings.Join(got, " "), want)
	}
}

// TestNoSecretValueInTheLedger: syncing a Secret, then a new value of it, leaves neither value
// (plain or base64) anywhere in the ledger's files, while the record shows that it changed.
func TestNoSecretValueInTheLedger(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	secret := func(value string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: " + value + "}\n---\n" +
			"apiVersion: v1\nkind: Secret\nmetadata: {name: api}\ndata: {token: " + base64.StdEncoding.EncodeToString([]byte(value+"-api")) + "}\n"
	}
	const first, second = "hunter2-first-value", "correct-horse-second-value"
	repo := appRepo(t, ns, map[string]string{"s.yaml": secret(first)})
	cfg := fleetConfig(fleet, repo.FileURL(), config.AppSpec{Path: "app"}, ns)
	dir := t.TempDir()
	l, err := history.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	s := reconciler.NewSyncer(t.TempDir())
	s.Ledger = l
	syncOK(t, s, cfg, reconciler.Options{Cluster: "dev"})
	writeApp(t, repo, ns, map[string]string{"s.yaml": secret(second)})
	syncOK(t, s, cfg, reconciler.Options{Cluster: "dev"})
	changes := changesOf(t, l, ns, "dev")
	if len(changes) != 2 || len(changes[1].Objects) != 2 || !strings.Contains(changes[1].Objects[0].Diff, "[redacted]") {
		t.Fatalf("the second change does not show the Secrets changed: %+v", changes)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		if strings.HasSuffix(f, history.KeyFile) {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{first, second, first + "-api", second + "-api"} {
			for _, form := range []string{v, base64.StdEncoding.EncodeToString([]byte(v))} {
				if strings.Contains(string(data), form) {
					t.Errorf("%s holds a Secret value: %q", filepath.Base(f), form)
				}
			}
		}
	}
}
