package policies

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/flotilla-dev/flotilla/config"
)

// RestWave names the implicit last wave: the App's clusters that no wave selects.
const RestWave = "rest"

// Wave is a step of a rollout with the clusters it covers, by name, in configuration order.
type Wave struct {
	Name        string        `json:"name"`
	Clusters    []string      `json:"clusters"`
	MaxParallel int           `json:"maxParallel,omitempty"`
	BakeTime    time.Duration `json:"bakeTime,omitempty"`
}

// PlanWaves puts each of the App's clusters in the first wave whose selector picks it; the
// clusters no wave picks make a last wave, RestWave. Waves that pick none of the clusters
// stay in the plan, empty (they pass at once).
func PlanWaves(waves []config.Wave, clusters []*config.Cluster) ([]Wave, error) {
	out := make([]Wave, 0, len(waves)+1)
	placed := map[string]bool{}
	for i, w := range waves {
		sel, err := metav1.LabelSelectorAsSelector(&w.ClusterSelector)
		if err != nil {
			return nil, fmt.Errorf("spec.rollout.waves[%d].clusterSelector: %w", i, err)
		}
		wave := Wave{Name: w.Name, MaxParallel: w.MaxParallel, BakeTime: w.BakeTime.Duration}
		for _, c := range clusters {
			if !placed[c.Metadata.Name] && sel.Matches(labels.Set(c.Metadata.Labels)) {
				placed[c.Metadata.Name] = true
				wave.Clusters = append(wave.Clusters, c.Metadata.Name)
			}
		}
		out = append(out, wave)
	}
	rest := Wave{Name: RestWave}
	for _, c := range clusters {
		if !placed[c.Metadata.Name] {
			rest.Clusters = append(rest.Clusters, c.Metadata.Name)
		}
	}
	if len(rest.Clusters) > 0 {
		out = append(out, rest)
	}
	return out, nil
}

// RolloutState is where an App's rollout of its target commit stands; it is what is kept
// between decisions (in the ledger), so that an agent started again carries on.
type RolloutState struct {
	// Target is the commit being rolled out.
	Target string `json:"target"`
	// Wave is the index of the current wave; len(waves) once every wave passed.
	Wave int `json:"wave"`
	// BakeStart is when every cluster of the current wave was first seen at the target and
	// healthy (zero before).
	BakeStart time.Time `json:"bakeStart,omitzero"`
	// Halted says on what the current wave halted ("" while it goes on).
	Halted string `json:"halted,omitempty"`
	// Aborted: someone stopped the rollout; nothing more goes to the target until a resume.
	Aborted bool `json:"aborted,omitempty"`
	// Promoted: someone skipped the current wave's bake.
	Promoted bool `json:"promoted,omitempty"`
	// Since is when the rollout of Target started.
	Since time.Time `json:"since,omitzero"`
}

// ClusterFact is what a cluster last applied of the App: the commit and the health the apply
// ended with (Healthy, Progressing, Degraded, or Synced when health was not waited for).
type ClusterFact struct {
	Revision string `json:"revision"`
	Health   string `json:"health,omitempty"`
}

// Health results a rollout tells apart.
const (
	healthy     = "Healthy"
	degraded    = "Degraded"
	progressing = "Progressing"
)

// RolloutDecision is what DecideRollout says.
type RolloutDecision struct {
	// State is the state to keep from now on.
	State RolloutState `json:"state"`
	// Allowed are the clusters that may run the target now: those of the waves passed, those
	// of the current wave it lets go (maxParallel at a time), and any already running it.
	Allowed map[string]bool `json:"allowed"`
	// Wave is the current wave's name ("" once every wave passed).
	Wave string `json:"wave,omitempty"`
	// Reason says where the rollout stands, for people.
	Reason string `json:"reason"`
	// Events are the transitions this decision made, for the ledger, oldest first.
	Events []RolloutEvent `json:"events,omitempty"`
	// Recheck is when to decide again: the end of the current wave's bake (zero: when a
	// cluster's facts change).
	Recheck time.Time `json:"recheck,omitzero"`
	// Done: every wave passed.
	Done bool `json:"done,omitempty"`

	waves   []Wave
	waiting map[string]string
}

// RolloutEvent is one transition of a rollout.
type RolloutEvent struct {
	// Kind is Started, Baking, Passed, Halted or Completed.
	Kind string `json:"kind"`
	Wave string `json:"wave,omitempty"`
	// Message says it for people.
	Message string `json:"message"`
}

// Rollout event kinds.
const (
	EventStarted   = "Started"
	EventBaking    = "Baking"
	EventPassed    = "Passed"
	EventHalted    = "Halted"
	EventCompleted = "Completed"
)

// For says whether the cluster may run the target now and, when not, why.
func (d RolloutDecision) For(cluster string) (allowed bool, reason string) {
	if d.Allowed[cluster] {
		return true, d.Reason
	}
	if why := d.waiting[cluster]; why != "" {
		return false, why
	}
	return false, d.Reason
}

// DecideRollout moves an App's rollout of target along its waves, given its state, what each
// cluster last applied (facts, by cluster name) and now. A target other than the state's
// starts over at the first wave. A wave passes once every cluster of it runs the target
// (keyed on the commit each applied, never on older status) healthy, and stays so for the
// wave's bake time from when that was first seen (or at once when promoted); the next wave
// then starts. A cluster of the current wave at the target that is Degraded or Progressing
// (its health wait ended without it) halts the rollout: the halt stays, whatever the cluster
// does next, until a resume or a newer commit. Halted or aborted, no cluster goes to the
// target beyond those running it already. A wave that covers none of the clusters passes at
// once, without an event. A pure function: the clock is passed in.
func DecideRollout(waves []Wave, st RolloutState, target string, facts map[string]ClusterFact, now time.Time) RolloutDecision {
	d := RolloutDecision{Allowed: map[string]bool{}, waves: waves, waiting: map[string]string{}}
	if st.Target != target {
		st = RolloutState{Target: target, Since: now}
		d.Events = append(d.Events, RolloutEvent{Kind: EventStarted, Message: fmt.Sprintf("rollout of %s started", short(target))})
	}
	for c, f := range facts {
		if f.Revision == target {
			d.Allowed[c] = true // it runs the target: it keeps it
		}
	}
	startedDone := st.Wave >= len(waves)
	for st.Wave < len(waves) {
		w := waves[st.Wave]
		if st.Halted == "" && !st.Aborted {
			if failed := failedIn(w, target, facts); failed != "" {
				st.Halted = failed
				d.Events = append(d.Events, RolloutEvent{Kind: EventHalted, Wave: w.Name, Message: fmt.Sprintf("halted in wave %s: %s", w.Name, failed)})
			}
		}
		if st.Halted != "" || st.Aborted {
			break
		}
		if d.admit(w, target, facts) {
			st.BakeStart = time.Time{}
			break
		}
		if len(w.Clusters) == 0 {
			st.Wave, st.BakeStart, st.Promoted = st.Wave+1, time.Time{}, false
			continue
		}
		if st.BakeStart.IsZero() {
			st.BakeStart = now
			if w.BakeTime > 0 && !st.Promoted {
				d.Events = append(d.Events, RolloutEvent{Kind: EventBaking, Wave: w.Name,
					Message: fmt.Sprintf("wave %s runs %s healthy on every cluster: baking until %s", w.Name, short(target), now.Add(w.BakeTime).UTC().Format(time.RFC3339))})
			}
		}
		if end := st.BakeStart.Add(w.BakeTime); !st.Promoted && now.Before(end) {
			d.Recheck = end
			for _, c := range w.Clusters {
				d.Allowed[c] = true
			}
			break
		}
		how := "baked"
		if st.Promoted {
			how = "promoted"
		}
		d.Events = append(d.Events, RolloutEvent{Kind: EventPassed, Wave: w.Name, Message: fmt.Sprintf("wave %s passed (%s)", w.Name, how)})
		st.Wave, st.BakeStart, st.Promoted = st.Wave+1, time.Time{}, false
	}
	for i := 0; i < st.Wave && i < len(waves); i++ {
		for _, c := range waves[i].Clusters {
			d.Allowed[c] = true
		}
	}
	d.State, d.Done = st, st.Wave >= len(waves)
	if d.Done && !startedDone {
		d.Events = append(d.Events, RolloutEvent{Kind: EventCompleted, Message: fmt.Sprintf("rollout of %s completed", short(target))})
	}
	d.Reason = d.reason()
	d.holdLaterWaves()
	return d
}

// admit lets the wave's clusters that do not run the target go to it, as many as its
// maxParallel leaves room for beside those still becoming healthy, and reports whether the wave
// is under way (some cluster not yet at the target, or not yet healthy there).
func (d *RolloutDecision) admit(w Wave, target string, facts map[string]ClusterFact) bool {
	pending, inFlight := 0, 0
	for _, c := range w.Clusters {
		switch f := facts[c]; {
		case f.Revision != target:
			pending++
		case f.Health != healthy:
			inFlight++
		}
	}
	if pending+inFlight == 0 {
		return false
	}
	free := pending
	if w.MaxParallel > 0 {
		free = max(0, w.MaxParallel-inFlight)
	}
	for _, c := range w.Clusters {
		if facts[c].Revision == target {
			continue
		}
		if free > 0 {
			d.Allowed[c], free = true, free-1
		} else {
			d.waiting[c] = fmt.Sprintf("wave %s: waits for a free place (maxParallel %d)", w.Name, w.MaxParallel)
		}
	}
	return true
}

// holdLaterWaves says, for each cluster of a wave after the current one that may not go to
// the target, what it waits for.
func (d *RolloutDecision) holdLaterWaves() {
	for i := d.State.Wave + 1; i < len(d.waves); i++ {
		for _, c := range d.waves[i].Clusters {
			if !d.Allowed[c] {
				d.waiting[c] = fmt.Sprintf("held: wave %s waits for %s (%s)", d.waves[i].Name, d.waves[d.State.Wave].Name, d.Reason)
			}
		}
	}
}

// failedIn names the first cluster of the wave that runs the target unhealthy after its
// health wait, "" when none does.
func failedIn(w Wave, target string, facts map[string]ClusterFact) string {
	for _, c := range w.Clusters {
		if f := facts[c]; f.Revision == target && (f.Health == degraded || f.Health == progressing) {
			return fmt.Sprintf("cluster %s %s at %s", c, f.Health, short(target))
		}
	}
	return ""
}

// reason says where the rollout stands.
func (d *RolloutDecision) reason() string {
	st := d.State
	if d.Done {
		return fmt.Sprintf("rollout of %s complete", short(st.Target))
	}
	w := d.waves[st.Wave]
	d.Wave = w.Name
	switch {
	case st.Aborted:
		return fmt.Sprintf("rollout of %s aborted in wave %s (flotilla rollout resume goes on)", short(st.Target), w.Name)
	case st.Halted != "":
		return fmt.Sprintf("halted in wave %s: %s", w.Name, st.Halted)
	case !d.Recheck.IsZero():
		return fmt.Sprintf("wave %s baking until %s", w.Name, d.Recheck.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("wave %s going to %s", w.Name, short(st.Target))
}

// short is a commit's first 7 characters.
func short(commit string) string {
	if len(commit) > 7 {
		return commit[:7]
	}
	return commit
}
