package reconciler_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/reconciler"
)

// BenchmarkRollback: 3 clusters × 300 objects; each op commits a revision that changes all 150
// ConfigMaps, syncs it (sync-ms: the fresh sync, health waited, recorded in the ledger), then
// rolls every cluster back one step (rollback-ms: the snapshot restored without Git, pruned,
// health waited, recorded, pinned), the clusters at once in both.
func BenchmarkRollback(b *testing.B) {
	tuneGC(b)
	s := newBenchSetup(b, "bench-rollback")
	l, err := history.Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	s.syncer.Ledger = l
	s.settle(b)
	var syncs, rollbacks time.Duration
	for i := 1; b.Loop(); i++ {
		b.StopTimer()
		s.repo.Write(benchFiles(s.ns, everyConfigMap, i))
		s.repo.Commit(fmt.Sprint("every ConfigMap to ", i))
		start := time.Now()
		for _, r := range s.syncWith(b, reconciler.Options{Wait: true}) {
			if n := r.Changes.Count(clusters.ActionConfigured); n != benchObjects/2 {
				b.Fatalf("%s: sync configured %d, want %d", r.Cluster, n, benchObjects/2)
			}
		}
		syncs += time.Since(start)
		start = time.Now()
		var wg sync.WaitGroup
		results := make([]reconciler.Result, len(s.cfg.Clusters))
		for j := range s.cfg.Clusters {
			key := reconciler.AppCluster{App: &s.cfg.Apps[0], Cluster: &s.cfg.Clusters[j]}
			wg.Go(func() {
				results[j] = s.syncer.Rollback(context.Background(), key, reconciler.RollbackOptions{Steps: 1})
			})
		}
		wg.Wait()
		rollbacks += time.Since(start)
		for _, r := range results {
			if r.Status != reconciler.StatusHealthy || r.Changes.Count(clusters.ActionConfigured) != benchObjects/2 {
				b.Fatalf("%s: rollback %s (%s), %d configured", r.Cluster, r.Status, r.Error, r.Changes.Count(clusters.ActionConfigured))
			}
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(syncs.Milliseconds())/float64(b.N), "sync-ms/op")
	b.ReportMetric(float64(rollbacks.Milliseconds())/float64(b.N), "rollback-ms/op")
}
