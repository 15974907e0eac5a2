package policies

import (
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flotilla-dev/flotilla/config"
)

func TestPlanWaves(t *testing.T) {
	var clusters []*config.Cluster
	for _, c := range []struct{ name, env string }{{"dev", "dev"}, {"eu", "prod"}, {"us", "prod"}, {"lab", "lab"}, {"stg", "staging"}} {
		clusters = append(clusters, &config.Cluster{Metadata: config.ObjectMeta{Name: c.name, Labels: map[string]string{"env": c.env}}})
	}
	env := func(v string) metav1.LabelSelector {
		return metav1.LabelSelector{MatchLabels: map[string]string{"env": v}}
	}
	waves, err := PlanWaves([]config.Wave{
		{Name: "canary", ClusterSelector: env("dev"), BakeTime: config.Duration{Duration: time.Minute}},
		{Name: "staging", ClusterSelector: env("staging")},
		{Name: "none", ClusterSelector: env("nowhere")},
		{Name: "prod", ClusterSelector: env("prod"), MaxParallel: 1},
		{Name: "dev-again", ClusterSelector: env("dev")},
	}, clusters)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range waves {
		got = append(got, w.Name+"="+strings.Join(w.Clusters, ","))
	}
	want := "canary=dev staging=stg none= prod=eu,us dev-again= rest=lab"
	if strings.Join(got, " ") != want {
		t.Errorf("waves: %s\nwant   %s", strings.Join(got, " "), want)
	}
}

func TestDecideRollout(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	waves := []Wave{
		{Name: "canary", Clusters: []string{"dev"}, BakeTime: time.Minute},
		{Name: "empty"},
		{Name: "staging", Clusters: []string{"s1", "s2", "s3"}, MaxParallel: 2, BakeTime: time.Minute},
		{Name: "prod", Clusters: []string{"p1"}},
	}
	const old, target = "0000000aaaa", "1111111bbbb"
	at := func(commit, health string) ClusterFact { return ClusterFact{Revision: commit, Health: health} }
	allOld := map[string]ClusterFact{"dev": at(old, healthy), "s1": at(old, healthy), "s2": at(old, healthy), "s3": at(old, healthy), "p1": at(old, healthy)}
	with := func(changes map[string]ClusterFact) map[string]ClusterFact {
		out := map[string]ClusterFact{}
		for k, v := range allOld {
			out[k] = v
		}
		for k, v := range changes {
			out[k] = v
		}
		return out
	}
	inStaging := RolloutState{Target: target, Wave: 2, Since: t0}
	cases := []struct {
		name    string
		state   RolloutState
		facts   map[string]ClusterFact
		now     time.Time
		allowed string
		wave    int
		reason  string
		events  string
		waiting map[string]string
	}{{
		name: "a new target starts at the first wave", state: RolloutState{Target: old, Wave: 4}, facts: allOld, now: t0,
		allowed: "dev", wave: 0, reason: "wave canary going to 1111111", events: "Started",
		waiting: map[string]string{"p1": "held: wave prod waits for canary (wave canary going to 1111111)"},
	}, {
		name: "the first wave runs the target healthy: it bakes", state: RolloutState{Target: target, Since: t0},
		facts: with(map[string]ClusterFact{"dev": at(target, healthy)}), now: t0.Add(10 * time.Second),
		allowed: "dev", wave: 0, reason: "wave canary baking until 2026-03-01T12:01:10Z", events: "Baking",
	}, {
		name: "stale health of the old revision does not pass a wave", state: RolloutState{Target: target, Since: t0},
		facts: with(map[string]ClusterFact{"dev": at(old, healthy)}), now: t0.Add(time.Hour),
		allowed: "dev", wave: 0, reason: "wave canary going to 1111111",
	}, {
		name: "applied but not known healthy yet: no bake", state: RolloutState{Target: target, Since: t0},
		facts: with(map[string]ClusterFact{"dev": at(target, "Synced")}), now: t0.Add(time.Hour),
		allowed: "dev", wave: 0, reason: "wave canary going to 1111111",
	}, {
		name: "baked: the empty wave passes at once, staging goes maxParallel at a time", state: RolloutState{Target: target, BakeStart: t0, Since: t0},
		facts: with(map[string]ClusterFact{"dev": at(target, healthy)}), now: t0.Add(time.Minute),
		allowed: "dev s1 s2", wave: 2, reason: "wave staging going to 1111111", events: "Passed",
		waiting: map[string]string{"s3": "wave staging: waits for a free place (maxParallel 2)"},
	}, {
		name: "promoted: no bake", state: RolloutState{Target: target, Promoted: true, Since: t0},
		facts: with(map[string]ClusterFact{"dev": at(target, healthy)}), now: t0,
		allowed: "dev s1 s2", wave: 2, events: "Passed",
	}, {
		name: "one healthy frees a place", state: inStaging,
		facts: with(map[string]ClusterFact{"dev": at(target, healthy), "s1": at(target, healthy), "s2": at(target, "Synced")}), now: t0,
		allowed: "dev s1 s2 s3", wave: 2,
	}, {
		name: "a Degraded cluster halts the wave; later waves keep the old revision", state: inStaging,
		facts: with(map[string]ClusterFact{"dev": at(target, healthy), "s1": at(target, healthy), "s2": at(target, degraded)}), now: t0,
		allowed: "dev s1 s2", wave: 2, reason: "halted in wave staging: cluster s2 Degraded at 1111111", events: "Halted",
		waiting: map[string]string{"s3": "halted in wave staging: cluster s2 Degraded at 1111111",
			"p1": "held: wave prod waits for staging (halted in wave staging: cluster s2 Degraded at 1111111)"},
	}, {
		name: "the halt stays after the failed cluster was rolled back", state: RolloutState{Target: target, Wave: 2, Halted: "cluster s2 Degraded at 1111111"},
		facts: with(map[string]ClusterFact{"dev": at(target, healthy), "s1": at(target, healthy)}), now: t0.Add(time.Hour),
		allowed: "dev s1", wave: 2, reason: "halted in wave staging: cluster s2 Degraded at 1111111",
	}, {
		name: "a health wait that ran out halts too", state: inStaging,
		facts: with(map[string]ClusterFact{"dev": at(target, healthy), "s1": at(target, progressing)}), now: t0,
		allowed: "dev s1", wave: 2, reason: "halted in wave staging: cluster s1 Progressing at 1111111", events: "Halted",
	}, {
		name: "a newer commit during a halt starts over", state: RolloutState{Target: old, Wave: 2, Halted: "x"},
		facts: with(map[string]ClusterFact{"dev": at(old, healthy)}), now: t0,
		allowed: "dev", wave: 0, events: "Started",
	}, {
		name: "aborted: nothing more goes", state: RolloutState{Target: target, Wave: 2, Aborted: true},
		facts: with(map[string]ClusterFact{"dev": at(target, healthy), "s1": at(target, healthy)}), now: t0,
		allowed: "dev s1", wave: 2, reason: "rollout of 1111111 aborted in wave staging (flotilla rollout resume goes on)",
	}, {
		name: "the last wave passes: complete", state: RolloutState{Target: target, Wave: 3},
		facts: map[string]ClusterFact{"dev": at(target, healthy), "s1": at(target, healthy), "s2": at(target, healthy), "s3": at(target, healthy), "p1": at(target, healthy)}, now: t0,
		allowed: "dev p1 s1 s2 s3", wave: 4, reason: "rollout of 1111111 complete", events: "Passed Completed",
	}, {
		name: "complete stays complete, without events", state: RolloutState{Target: target, Wave: 4},
		facts: allOld, now: t0, allowed: "dev p1 s1 s2 s3", wave: 4, reason: "rollout of 1111111 complete",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := DecideRollout(waves, tc.state, target, tc.facts, tc.now)
			var allowed []string
			for c, ok := range d.Allowed {
				if ok {
					allowed = append(allowed, c)
				}
			}
			sort.Strings(allowed)
			if got := strings.Join(allowed, " "); got != tc.allowed {
				t.Errorf("allowed %q, want %q", got, tc.allowed)
			}
			if d.State.Wave != tc.wave {
				t.Errorf("wave %d, want %d", d.State.Wave, tc.wave)
			}
			if tc.reason != "" && d.Reason != tc.reason {
				t.Errorf("reason %q, want %q", d.Reason, tc.reason)
			}
			var kinds []string
			for _, e := range d.Events {
				kinds = append(kinds, e.Kind)
			}
			if got := strings.Join(kinds, " "); got != tc.events {
				t.Errorf("events %q (%v), want %q", got, d.Events, tc.events)
			}
			for c, want := range tc.waiting {
				if ok, why := d.For(c); ok || why != want {
					t.Errorf("%s: allowed %v, %q; want held, %q", c, ok, why, want)
				}
			}
			if d.Done != (tc.wave == len(waves)) {
				t.Errorf("done %v", d.Done)
			}
		})
	}
}

// TestDecideRolloutBakeRecheck: a baking wave asks to be decided again when its bake ends,
// and passes then.
func TestDecideRolloutBakeRecheck(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	waves := []Wave{{Name: "a", Clusters: []string{"x"}, BakeTime: 90 * time.Second}, {Name: "b", Clusters: []string{"y"}}}
	facts := map[string]ClusterFact{"x": {Revision: "t", Health: healthy}}
	d := DecideRollout(waves, RolloutState{}, "t", facts, t0)
	if !d.Recheck.Equal(t0.Add(90*time.Second)) || d.Allowed["y"] {
		t.Fatalf("recheck %s, y allowed %v", d.Recheck, d.Allowed["y"])
	}
	d = DecideRollout(waves, d.State, "t", facts, d.Recheck.Add(-time.Nanosecond))
	if d.State.Wave != 0 || len(d.Events) != 0 {
		t.Fatalf("before the bake's end: wave %d, events %v", d.State.Wave, d.Events)
	}
	d = DecideRollout(waves, d.State, "t", facts, t0.Add(90*time.Second))
	if d.State.Wave != 1 || !d.Allowed["y"] || !d.Recheck.IsZero() {
		t.Fatalf("at the bake's end: wave %d, y allowed %v, recheck %s", d.State.Wave, d.Allowed["y"], d.Recheck)
	}
}
