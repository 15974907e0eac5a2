package reconciler_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/reconciler"
)

// TestLogEventsOneLinePerReconcile: a reconcile's result is one info line with the App,
// cluster, revision, result and writes (created, configured and pruned; not unchanged or
// skipped); the stages before it are debug lines.
func TestLogEventsOneLinePerReconcile(t *testing.T) {
	var out bytes.Buffer
	observer := reconciler.LogEvents(slog.New(slog.NewJSONHandler(&out, nil)))
	observer.Observe(reconciler.Event{App: "shop", Cluster: "prod", Stage: reconciler.StageApply, Message: "28 objects: 3 to write"})
	observer.Observe(reconciler.Event{App: "shop", Cluster: "prod", Stage: reconciler.StageDone, Result: &reconciler.Result{
		App: "shop", Cluster: "prod", Status: reconciler.StatusSynced, Commit: "cccc3333",
		Duration: config.Duration{Duration: 1500 * time.Millisecond},
		Changes: clusters.ChangeSet{{Action: clusters.ActionCreated}, {Action: clusters.ActionConfigured}, {Action: clusters.ActionPruned},
			{Action: clusters.ActionUnchanged}, {Action: clusters.ActionSkipped}},
	}})
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &line); err != nil {
		t.Fatalf("want exactly one line (the debug one is not logged at info): %v\n%s", err, out.String())
	}
	delete(line, "time")
	want := map[string]any{"level": "INFO", "msg": "reconciled", "stage": "done", "app": "shop", "cluster": "prod",
		"status": "Synced", "commit": "cccc3333", "writes": float64(3), "duration": "1.5s"}
	if diff := cmp.Diff(want, line); diff != "" {
		t.Errorf("log line (-want +got):\n%s", diff)
	}
}
