package reconciler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/policies"
)

// Rollouts (spec.rollout.waves): an App with waves goes to a new commit wave by wave, as
// policies.DecideRollout says, with its state kept in the ledger (so a restarted agent carries
// on) and each transition recorded there as a change with trigger rollout. A pair whose
// cluster may not run the target yet stays on what it runs: it is reconciled with the
// snapshot it last applied, so that drift still heals toward it. A pair that may is synced
// with a wait for health; one that fails health halts the rollout and is rolled back to its
// last healthy revision, whether or not spec.health.autoRollback is set (see autoRollback).

// ErrNoRollout: the App has no waves, or no rollout started yet.
var ErrNoRollout = errors.New("no rollout")

// RolloutStatus is where an App's rollout stands.
type RolloutStatus struct {
	App string `json:"app"`
	// State is what the ledger keeps: the target commit, the current wave, the bake, the halt.
	State policies.RolloutState `json:"state"`
	// Wave is the current wave's name ("" once complete); Reason says where it stands.
	Wave   string `json:"wave,omitempty"`
	Reason string `json:"reason"`
	Done   bool   `json:"done,omitempty"`
	// Waves are the App's waves with their clusters; Clusters what each last applied.
	Waves    []policies.Wave                 `json:"waves"`
	Clusters map[string]policies.ClusterFact `json:"clusters"`
	// Allowed are the clusters that may run the target now.
	Allowed []string `json:"allowed"`
}

// hasWaves says whether the App rolls out in waves.
func hasWaves(app *config.App) bool { return len(app.Spec.Rollout.Waves) > 0 }

// rolloutLock serialises the decisions about one App's rollout (not its reconciles).
func (s *Syncer) rolloutLock(ctx context.Context, app string) (func(), error) {
	return s.locks.LockContext(ctx, "\x00rollout\x00"+app)
}

// rolloutChange is a change to a rollout's state that someone asked for (promote, abort,
// resume): it edits the state and says what to record.
type rolloutChange func(st *policies.RolloutState) (history.Change, error)

// decideRollout decides the App's rollout of target on its clusters (the caller holds the
// rollout lock): it reads the state and what each cluster last applied from the ledger (facts
// overrides them: what a reconcile just found, before its rollback), applies change, decides,
// and keeps the state with its transitions when they changed.
func (s *Syncer) decideRollout(ctx context.Context, app *config.App, clusters []*config.Cluster, target string,
	facts map[string]policies.ClusterFact, change rolloutChange) (policies.RolloutDecision, []policies.Wave, map[string]policies.ClusterFact, error) {
	name := app.Metadata.Name
	waves, err := policies.PlanWaves(app.Spec.Rollout.Waves, clusters)
	if err != nil {
		return policies.RolloutDecision{}, nil, nil, err
	}
	st, err := s.rolloutState(ctx, name)
	if err != nil {
		return policies.RolloutDecision{}, nil, nil, err
	}
	all := map[string]policies.ClusterFact{}
	for _, c := range clusters {
		last, err := s.Ledger.Last(ctx, name, c.Metadata.Name, history.Applied...)
		if err != nil {
			return policies.RolloutDecision{}, nil, nil, fmt.Errorf("read what %s last applied on %s: %w", name, c.Metadata.Name, err)
		}
		if last != nil {
			all[c.Metadata.Name] = policies.ClusterFact{Revision: last.Revision.Commit, Health: string(last.Result)}
		}
	}
	for c, f := range facts {
		all[c] = f
	}
	var asked []history.Change
	before := st
	if change != nil {
		if target == "" {
			target = st.Target
		}
		if st.Target != target {
			return policies.RolloutDecision{}, nil, nil, fmt.Errorf("App %q has no rollout of %s under way: %w", name, short(target), ErrNoRollout)
		}
		c, err := change(&st)
		if err != nil {
			return policies.RolloutDecision{}, nil, nil, err
		}
		asked = append(asked, c)
	}
	d := policies.DecideRollout(waves, st, target, all, s.now())
	transitions := asked
	for _, e := range d.Events {
		transitions = append(transitions, history.Change{Actor: history.Actor{Agent: true}, Result: history.Result(e.Kind), Reason: e.Message})
	}
	for i := range transitions {
		transitions[i].Revision = history.Revision{Commit: target}
	}
	if len(transitions) > 0 || d.State != before {
		body, err := json.Marshal(d.State)
		if err != nil {
			return d, waves, all, fmt.Errorf("keep the rollout of %s: %w", name, err)
		}
		if err := s.Ledger.SaveRollout(ctx, name, body, transitions...); err != nil {
			return d, waves, all, err
		}
	}
	return d, waves, all, nil
}

// rolloutState reads the App's rollout state (zero when none was kept).
func (s *Syncer) rolloutState(ctx context.Context, app string) (policies.RolloutState, error) {
	var st policies.RolloutState
	body, err := s.Ledger.Rollout(ctx, app)
	if err != nil || body == nil {
		return st, err
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return st, fmt.Errorf("read the rollout of %s: %w", app, err)
	}
	return st, nil
}

// rolloutStatus decides (with change, if any) and says where the rollout stands.
func (s *Syncer) rolloutStatus(ctx context.Context, app *config.App, clusters []*config.Cluster, target string, change rolloutChange) (RolloutStatus, error) {
	if s.Ledger == nil {
		return RolloutStatus{}, ErrNoLedger
	}
	if !hasWaves(app) {
		return RolloutStatus{}, fmt.Errorf("App %q has no spec.rollout.waves: %w", app.Metadata.Name, ErrNoRollout)
	}
	unlock, err := s.rolloutLock(ctx, app.Metadata.Name)
	if err != nil {
		return RolloutStatus{}, err
	}
	defer unlock()
	if target == "" {
		st, err := s.rolloutState(ctx, app.Metadata.Name)
		if err != nil {
			return RolloutStatus{}, err
		}
		if target = st.Target; target == "" {
			return RolloutStatus{}, fmt.Errorf("App %q: no commit rolled out yet: %w", app.Metadata.Name, ErrNoRollout)
		}
	}
	d, waves, facts, err := s.decideRollout(ctx, app, clusters, target, nil, change)
	if err != nil {
		return RolloutStatus{}, err
	}
	out := RolloutStatus{App: app.Metadata.Name, State: d.State, Wave: d.Wave, Reason: d.Reason, Done: d.Done, Waves: waves, Clusters: facts}
	for c, ok := range d.Allowed {
		if ok {
			out.Allowed = append(out.Allowed, c)
		}
	}
	sort.Strings(out.Allowed)
	return out, nil
}

// Rollout verbs: what promote, abort and resume do to the state.
func promote(actor history.Actor) rolloutChange {
	return func(st *policies.RolloutState) (history.Change, error) {
		st.Promoted = true
		return history.Change{Actor: actor, Result: "Promoted", Reason: "the current wave's bake is skipped"}, nil
	}
}

func abort(actor history.Actor) rolloutChange {
	return func(st *policies.RolloutState) (history.Change, error) {
		st.Aborted = true
		return history.Change{Actor: actor, Result: "Aborted", Reason: "no more clusters go to the target (flotilla rollout resume goes on)"}, nil
	}
}

func resume(actor history.Actor) rolloutChange {
	return func(st *policies.RolloutState) (history.Change, error) {
		if !st.Aborted && st.Halted == "" {
			return history.Change{}, fmt.Errorf("the rollout of %s is neither halted nor aborted: %w", short(st.Target), ErrNoRollout)
		}
		reason := "resumed"
		if st.Halted != "" {
			reason = "resumed after: " + st.Halted
		}
		st.Aborted, st.Halted = false, ""
		return history.Change{Actor: actor, Result: "Resumed", Reason: reason}, nil
	}
}
