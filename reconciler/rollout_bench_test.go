package reconciler_test

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/history"
)

// BenchmarkAgentRolloutOverhead: what rolling a commit out in waves costs over a plain
// automated sync of the same three clusters, bake time excluded. A commit changes one of 300
// objects and is announced by a webhook push; the clock runs until every cluster applied it.
// "plain" syncs the clusters in parallel with a wait for health (autoRollback, so both gate on
// health); "waves" goes dev → staging → prod with no bake time, each wave health-checked
// before the next starts. The difference of the two p50s is the overhead.
//
//	go test -run '^$' -bench AgentRolloutOverhead -benchtime 10x ./reconciler
func BenchmarkAgentRolloutOverhead(b *testing.B) {
	env := func(v string) metav1.LabelSelector {
		return metav1.LabelSelector{MatchLabels: map[string]string{"env": v}}
	}
	for _, bench := range []struct {
		name  string
		waves []config.Wave
	}{
		{name: "plain"},
		{name: "waves", waves: []config.Wave{
			{Name: "dev", ClusterSelector: env("dev")},
			{Name: "staging", ClusterSelector: env("staging")},
		}}, // prod: the implicit last wave
	} {
		b.Run(bench.name, func(b *testing.B) {
			tuneGC(b)
			s := newBenchSetupOf(b, "bench-rollout-"+bench.name, benchObjects)
			s.settle(b)
			l, err := history.Open(context.Background(), b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { l.Close() })
			s.syncer.Ledger = l
			spec := &s.cfg.Apps[0].Spec
			spec.Sync.Automated = true
			spec.Health.AutoRollback = true
			spec.Rollout.Waves = bench.waves
			s.cfg.Sources[0].Spec.Interval = config.Duration{Duration: time.Hour}
			measurePushes(b, s, runBenchAgent(b, s))
		})
	}
}
