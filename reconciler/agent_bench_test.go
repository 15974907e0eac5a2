package reconciler_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/reconciler"
	"github.com/flotilla-dev/flotilla/sources/webhook"
)

// BenchmarkAgentPushToConverged: a commit that changes one of 300 objects, announced by a
// webhook push, until the agent has applied it on all three clusters. Reports the median and
// the slowest, in seconds.
//
//	go test -run '^$' -bench AgentPush -benchtime 10x ./reconciler
func BenchmarkAgentPushToConverged(b *testing.B) {
	tuneGC(b)
	s := newBenchSetup(b, "bench-agent-push")
	s.cfg.Apps[0].Spec.Sync.Automated = true
	s.settle(b)
	opts := reconciler.DefaultAgentOptions()
	agent := reconciler.NewAgent(s.syncer, s.cfg, opts)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = agent.Run(ctx) })
	b.Cleanup(func() { cancel(); wg.Wait() })
	applied := func(commit string) bool {
		for _, st := range agent.Status() {
			if st.AppliedRevision != commit {
				return false
			}
		}
		return true
	}
	waitApplied := func(commit string) {
		deadline := time.Now().Add(time.Minute)
		for !applied(commit) {
			if time.Now().After(deadline) {
				b.Fatalf("%s not applied everywhere within a minute: %+v", commit, agent.Status())
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	waitApplied(s.repo.Git("rev-parse", "HEAD"))
	push := webhook.Push{Provider: webhook.Generic, Repositories: []string{s.repo.FileURL()}, Ref: "refs/heads/main"}
	var took []time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		s.repo.Write(benchFiles(s.ns, i%(benchObjects/2), i+1))
		commit := s.repo.Commit("one change")
		b.StartTimer()
		started := time.Now()
		if matched := agent.Push(push); len(matched) != 1 {
			b.Fatalf("the push matched %v, want the one Source", matched)
		}
		waitApplied(commit)
		took = append(took, time.Since(started))
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(took[len(took)/2].Seconds(), "p50-s")
	b.ReportMetric(took[len(took)-1].Seconds(), "max-s")
}
