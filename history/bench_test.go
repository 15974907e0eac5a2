package history

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"
)

// BenchmarkAppend records one change (begin and end: two sealed appends, each its own
// transaction) per op; p50-µs is the median of one record.
func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	l, _ := openTest(b)
	var took []time.Duration
	for b.Loop() {
		c := change("shop", "east", "aaaa1111", TriggerPoll, "Healthy")
		start := time.Now()
		if err := l.Record(ctx, c); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
}

// BenchmarkHistoryQuery lists the newest 100 changes of one App × Cluster out of 100,000
// (10 Apps × 5 clusters × 2,000 changes).
func BenchmarkHistoryQuery(b *testing.B) {
	ctx := context.Background()
	l, dir := openTest(b)
	fill(b, l, dir, 100_000)
	b.ResetTimer()
	for b.Loop() {
		changes, err := l.List(ctx, Filter{App: "app-3", Cluster: "cluster-2", Limit: 100})
		if err != nil || len(changes) != 100 {
			b.Fatalf("%d changes, %v", len(changes), err)
		}
	}
}

// fill appends n changes straight into the store, in transactions of 1,000, for benchmarks.
func fill(b *testing.B, l *Ledger, dir string, n int) {
	b.Helper()
	ctx := context.Background()
	store := l.store.(*SQLite)
	for done := 0; done < n; {
		tx, err := store.db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		var seq int64
		var prev string
		_ = tx.QueryRowContext(ctx, "SELECT seq, seal FROM entries ORDER BY seq DESC LIMIT 1").Scan(&seq, &prev)
		for i := 0; i < 500 && done < n; i, done = i+1, done+1 {
			for _, phase := range []Phase{PhaseBegin, PhaseEnd} {
				seq++
				e := Entry{Seq: seq, Change: seq, Phase: phase, At: time.Unix(int64(seq), 0), App: fmt.Sprintf("app-%d", done%10),
					Cluster: fmt.Sprintf("cluster-%d", (done/10)%5), Trigger: TriggerPoll, Revision: "aaaa", Author: "a", Result: "Healthy",
					Body: []byte(`{"actor":{"agent":true},"revision":{"commit":"aaaa"}}`), PrevSeal: prev}
				if phase == PhaseEnd {
					e.Change = seq - 1
					e.Body = []byte(`{}`)
				}
				e.Seal = l.keys.Seal(&e)
				prev = e.Seal
				if _, err := tx.ExecContext(ctx, "INSERT INTO entries ("+entryColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
					e.Seq, e.Change, string(e.Phase), e.At.UnixNano(), e.App, e.Cluster, string(e.Trigger), e.Revision, e.Author,
					string(e.Result), e.Body, e.PrevSeal, e.Seal); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}
