package reconciler

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/policies"
)

// syncInWaves is a one-shot sync of an App with waves (spec.rollout.waves): the pairs the pass
// selected go wave by wave, as the agent rolls a revision out, but within this pass. Each wave's
// pairs reconcile, at most its maxParallel at once, and their health is waited for; once every
// pair of the wave is healthy, the wave bakes for its bake time (when a later wave has pairs to
// sync), then the next wave starts. A pair that does not end healthy halts the pass (its
// reconcile rolled it back to its last healthy revision, as for every App with waves): the
// later waves' pairs are not synced, and are reported refused, saying where it halted. So is
// everything after ctx ends.
func (s *Syncer) syncInWaves(ctx context.Context, items []work, opts Options) []Result {
	app := items[0].key.App
	byCluster := map[string]work{}
	for _, w := range items {
		byCluster[w.key.Cluster.Metadata.Name] = w
	}
	clusters := make([]*config.Cluster, 0, len(items))
	for _, w := range items {
		clusters = append(clusters, w.key.Cluster)
	}
	waves, err := policies.PlanWaves(app.Spec.Rollout.Waves, clusters)
	if err != nil {
		return inParallel(items, func(w work) Result { return s.failed(w.key, opts, err) })
	}
	opts.Wait = true
	var results []Result
	halted := ""
	for i, wave := range waves {
		var pairs []work
		for _, c := range wave.Clusters {
			if w, ok := byCluster[c]; ok {
				pairs = append(pairs, w)
			}
		}
		if len(pairs) == 0 {
			continue
		}
		if halted == "" && ctx.Err() != nil {
			halted = "the sync was stopped"
		}
		if halted != "" {
			results = append(results, inParallel(pairs, func(w work) Result { return s.notReached(w, opts, wave.Name, halted) })...)
			continue
		}
		limit := len(pairs)
		if wave.MaxParallel > 0 {
			limit = wave.MaxParallel
		}
		for chunk := range slices.Chunk(pairs, limit) {
			done := inParallel(chunk, func(w work) Result { return s.syncPair(ctx, w, opts) })
			results = append(results, done...)
			for _, r := range done {
				if r.Status != StatusHealthy && halted == "" {
					halted = fmt.Sprintf("wave %s halted: cluster %s %s", wave.Name, r.Cluster, r.Status)
				}
			}
		}
		if halted == "" && wave.BakeTime > 0 && laterPairs(waves[i+1:], byCluster) {
			halted = s.bake(ctx, app.Metadata.Name, wave, opts)
		}
	}
	return results
}

// syncPair reconciles one selected pair, or fails it when its Source could not be fetched.
func (s *Syncer) syncPair(ctx context.Context, w work, opts Options) Result {
	if w.source.err != nil {
		return s.failed(w.key, opts, w.source.err)
	}
	return s.Reconcile(ctx, w.key, w.source.checkout, opts)
}

// notReached is the result of a pair of a wave the pass did not get to, because of halted.
func (s *Syncer) notReached(w work, opts Options, wave, halted string) Result {
	var rev Revision
	if w.source.err == nil {
		rev = w.source.checkout
	}
	r := s.begin(w.key, rev, opts)
	return r.done(r.finish(StatusRefused, &policies.RefusalError{Reason: fmt.Sprintf("not synced: wave %s comes after where the rollout stopped (%s); nothing was applied", wave, halted)}))
}

// laterPairs says whether a wave after the current one has pairs this pass syncs.
func laterPairs(waves []policies.Wave, byCluster map[string]work) bool {
	for _, w := range waves {
		for _, c := range w.Clusters {
			if _, ok := byCluster[c]; ok {
				return true
			}
		}
	}
	return false
}

// bake waits for the wave's bake time, telling the observer; "" once it is over, or why the
// pass stops when ctx ends first.
func (s *Syncer) bake(ctx context.Context, app string, wave policies.Wave, opts Options) string {
	until := time.Now().Add(wave.BakeTime)
	observe(opts.Observer, Event{App: app, Cluster: strings.Join(wave.Clusters, ","), Stage: StageHealth,
		Message: fmt.Sprintf("wave %s healthy on every cluster: baking %s, until %s", wave.Name, wave.BakeTime, until.Format(time.TimeOnly))})
	timer := time.NewTimer(wave.BakeTime)
	defer timer.Stop()
	select {
	case <-timer.C:
		return ""
	case <-ctx.Done():
		return fmt.Sprintf("the sync was stopped while wave %s baked", wave.Name)
	}
}
