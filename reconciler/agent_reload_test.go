package reconciler_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/reconciler"
	"github.com/flotilla-dev/flotilla/sources/gittest"
)

// sourceOnly is a configuration with one Source and nothing to reconcile.
func sourceOnly(t *testing.T) *config.Config {
	t.Helper()
	repo := gittest.NewRepo(t, t.TempDir(), "fleet")
	repo.Write(map[string]string{"README": "x\n"})
	repo.Commit("first")
	return &config.Config{Sources: []config.Source{{
		Metadata: config.ObjectMeta{Name: "fleet"},
		Spec:     config.SourceSpec{URL: repo.FileURL(), Ref: config.GitRef{Branch: "main"}, Interval: config.Duration{Duration: time.Hour}},
	}}}
}

// TestAgentReloadWhileAPollerKeepsItsFetch: a reload (and then the agent's stop) that comes
// while a poller has fetched and is about to keep what it fetched does not deadlock: the old
// pollers are waited for outside the agent's lock, which the poller takes.
func TestAgentReloadWhileAPollerKeepsItsFetch(t *testing.T) {
	cfg := sourceOnly(t)
	fetched := make(chan struct{})
	reloading := make(chan struct{})
	var fetches atomic.Int32
	opts := reconciler.DefaultAgentOptions()
	// OnFetch runs in the poller after it checked its context and before it takes the lock.
	opts.OnFetch = func(string, time.Duration, error) {
		if fetches.Add(1) != 1 {
			return
		}
		close(fetched)
		<-reloading
		// Give Reload the time to take the lock and stop the pollers: before the fix it then
		// waited for this poller, which waited for the lock.
		time.Sleep(200 * time.Millisecond)
	}
	agent := reconciler.NewAgent(reconciler.NewSyncer(t.TempDir()), cfg, opts)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var run sync.WaitGroup
	run.Go(func() { _ = agent.Run(ctx) })
	select {
	case <-fetched:
	case <-time.After(30 * time.Second):
		t.Fatal("the Source was not polled at the start")
	}
	next := sourceOnly(t)
	reloaded := make(chan struct{})
	go func() {
		defer close(reloaded)
		agent.Reload(ctx, next)
	}()
	close(reloading)
	select {
	case <-reloaded:
	case <-time.After(10 * time.Second):
		t.Fatal("Reload deadlocked with a poller keeping its fetch")
	}
	if err := agent.Refresh("fleet"); err != nil { // the new poller answers
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { return fetches.Load() >= 3 }, func() string { return "the reloaded poller does not poll" })
	cancel()
	stopped := make(chan struct{})
	go func() { run.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
