package reconciler_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/reconciler"
	"github.com/flotilla-dev/flotilla/sources/webhook"
)

// BenchmarkAgentPushToConverged: a commit that changes one of 300 objects, announced by a
// webhook push, until the agent has applied it on all three clusters. Reports the median and
// the slowest, in seconds.
//
//	go test -run '^$' -bench AgentPush -benchtime 10x ./reconciler
func BenchmarkAgentPushToConverged(b *testing.B) {
	s, agent := startBenchAgent(b, "bench-agent-push", config.DriftWarn, 10*time.Second)
	measurePushes(b, s, agent)
}

// measurePushes commits b.N changes of one object each, announces each by a webhook push and
// reports how long the agent took to apply it on every cluster (median and slowest).
func measurePushes(b *testing.B, s *benchSetup, agent *reconciler.Agent) {
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
		waitApplied(b, agent, commit)
		took = append(took, time.Since(started))
	}
	b.StopTimer()
	reportLatencies(b, took)
}

// startBenchAgent syncs 300 objects to the three clusters, waits until they are healthy, and
// runs an agent (logging nothing, polling at interval) on them with the drift mode, until the
// benchmark ends.
func startBenchAgent(b *testing.B, prefix, driftMode string, interval time.Duration) (*benchSetup, *reconciler.Agent) {
	return startBenchAgentOf(b, prefix, benchObjects, driftMode, interval)
}

// startBenchAgentOf is startBenchAgent with n objects per cluster.
func startBenchAgentOf(b *testing.B, prefix string, n int, driftMode string, interval time.Duration) (*benchSetup, *reconciler.Agent) {
	tuneGC(b)
	s := newBenchSetupOf(b, prefix, n)
	s.cfg.Apps[0].Spec.Sync.Automated = true
	s.cfg.Apps[0].Spec.Drift.Mode = driftMode
	s.cfg.Sources[0].Spec.Interval = config.Duration{Duration: interval}
	s.settle(b)
	return s, runBenchAgent(b, s)
}

// runBenchAgent runs an agent (logging nothing) on the setup's config until the benchmark
// ends, once it applied the head commit everywhere and is ready.
func runBenchAgent(b *testing.B, s *benchSetup) *reconciler.Agent {
	opts := reconciler.DefaultAgentOptions()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	agent := reconciler.NewAgent(s.syncer, s.cfg, opts)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = agent.Run(ctx) })
	b.Cleanup(func() { cancel(); wg.Wait() })
	waitApplied(b, agent, s.repo.Git("rev-parse", "HEAD"))
	deadline := time.Now().Add(time.Minute)
	for !agent.Ready() {
		if time.Now().After(deadline) {
			b.Fatal("the agent is not ready after a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return agent
}

// waitApplied waits until the agent applied the commit on every cluster.
func waitApplied(b *testing.B, agent *reconciler.Agent, commit string) {
	applied := func() bool {
		for _, st := range agent.Status() {
			if st.AppliedRevision != commit {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(time.Minute)
	for !applied() {
		if time.Now().After(deadline) {
			b.Fatalf("%s not applied everywhere within a minute: %+v", commit, agent.Status())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// reportLatencies reports the median and the slowest, in seconds.
func reportLatencies(b *testing.B, took []time.Duration) {
	slices.Sort(took)
	b.ReportMetric(took[len(took)/2].Seconds(), "p50-s")
	b.ReportMetric(took[len(took)-1].Seconds(), "max-s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkAgentDriftHeal: a managed ConfigMap patched by another field manager (client-go,
// as a controller would), until the agent took the value back. From the patch's answer.
func BenchmarkAgentDriftHeal(b *testing.B) {
	s, _ := startBenchAgent(b, "bench-agent-drift", config.DriftEnforce, 10*time.Second)
	c := s.fleet.Clusters[0]
	client := kubernetes.NewForConfigOrDie(c.Config)
	cms := client.CoreV1().ConfigMaps(s.ns)
	var took []time.Duration
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("settings-%d", i%(benchObjects/2))
		patch := fmt.Sprintf(`{"data":{"value":"drift-%d"}}`, i)
		_, err := cms.Patch(context.Background(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "hotfix"})
		if err != nil {
			b.Fatal(err)
		}
		started := time.Now()
		deadline := started.Add(30 * time.Second)
		for {
			cm, err := cms.Get(context.Background(), name, metav1.GetOptions{})
			if err == nil && cm.Data["value"] == "0" {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s not healed within 30 s", name)
			}
			time.Sleep(5 * time.Millisecond)
		}
		took = append(took, time.Since(started))
	}
	b.StopTimer()
	reportLatencies(b, took)
}

// BenchmarkAgentIdle: nothing changes for a minute after the first pass settled (the Source is
// polled every minute, as in the Flux baseline): the requests
// the agent sends to each cluster beyond its open watches, the CPU it uses (the benchmark
// process's own, fleet processes excluded), and its resident memory.
func BenchmarkAgentIdle(b *testing.B) {
	benchmarkAgentIdle(b, benchObjects)
}

// BenchmarkAgentIdle1000 is BenchmarkAgentIdle with 1,000 objects per cluster.
func BenchmarkAgentIdle1000(b *testing.B) {
	benchmarkAgentIdle(b, 1000)
}

func benchmarkAgentIdle(b *testing.B, objects int) {
	s, _ := startBenchAgentOf(b, "bench-agent-idle", objects, config.DriftEnforce, time.Minute)
	// The first pass is a burst of work: let it end, and the agent return its memory (see
	// agent_memory.go), so that the minute measured is a steady idle one.
	time.Sleep(45 * time.Second)
	for range b.N {
		before, _ := s.requests(b)
		cpu := processCPU(b)
		time.Sleep(time.Minute) // the measurement: a quiet minute, one poll of the Source
		after, _ := s.requests(b)
		b.ReportMetric(float64(after-before)/float64(len(s.fleet.Clusters)), "requests/cluster/min")
		b.ReportMetric((processCPU(b)-cpu).Seconds()/60*100, "%core")
	}
	b.ReportMetric(float64(residentKiB(b))/1024, "RSS-MiB")
	b.ReportMetric(0, "ns/op")
}

// processCPU is the user and system CPU time this process used.
func processCPU(b *testing.B) time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		b.Fatal(err)
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

// residentKiB is this process's resident set size.
func residentKiB(b *testing.B) int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kib
		}
	}
	return 0
}
