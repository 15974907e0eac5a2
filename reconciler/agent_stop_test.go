package reconciler_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/reconciler"
)

// signalWriter closes its channel once a log line holds its text.
type signalWriter struct {
	text string
	once sync.Once
	seen chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), w.text) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

// TestAgentStopTakesNoMoreWork: once the agent's context ends, the reconcile under way
// finishes but none of the pairs still queued is reconciled during the grace period.
func TestAgentStopTakesNoMoreWork(t *testing.T) {
	cfg := sourceOnly(t)
	cfg.Sources[0].Spec.URL = appRepo(t, "nowhere", map[string]string{"a.yaml": configMap("a", "1")}).FileURL()
	cfg.Clusters = []config.Cluster{{Metadata: config.ObjectMeta{Name: "gone"},
		Spec: config.ClusterSpec{Kubeconfig: filepath.Join(t.TempDir(), "no-kubeconfig")}}}
	for i := range 20 {
		cfg.Apps = append(cfg.Apps, config.App{Metadata: config.ObjectMeta{Name: fmt.Sprintf("app-%02d", i)},
			Spec: config.AppSpec{Source: "fleet", Path: "app", Sync: config.SyncPolicy{Automated: true}}})
	}
	inFlight := make(chan struct{})
	release := make(chan struct{})
	var reconciled atomic.Int32
	opts := reconciler.DefaultAgentOptions()
	opts.Workers, opts.Grace = 1, 20*time.Second
	opts.Observer = reconciler.ObserverFunc(func(e reconciler.Event) {
		if e.Stage != reconciler.StageDone || e.Result == nil || e.Result.App == "" {
			return
		}
		if reconciled.Add(1) == 1 {
			close(inFlight)
			<-release
		}
	})
	stopping := &signalWriter{text: "agent stopping", seen: make(chan struct{})}
	opts.Logger = slog.New(slog.NewTextHandler(stopping, nil))
	agent := reconciler.NewAgent(reconciler.NewSyncer(t.TempDir()), cfg, opts)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan struct{})
	go func() { defer close(stopped); _ = agent.Run(ctx) }()
	select {
	case <-inFlight:
	case <-time.After(30 * time.Second):
		t.Fatal("no reconcile started")
	}
	if agent.QueueDepth() == 0 {
		t.Fatal("nothing queued behind the reconcile under way")
	}
	cancel()
	select {
	case <-stopping.seen:
	case <-time.After(10 * time.Second):
		t.Fatal("the agent did not start stopping")
	}
	close(release)
	select {
	case <-stopped:
	case <-time.After(opts.Grace):
		t.Fatal("Run did not return within the grace period")
	}
	if n := reconciled.Load(); n != 1 {
		t.Errorf("%d reconciles ran; want only the one under way when the agent was told to stop", n)
	}
}
