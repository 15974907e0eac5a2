package reconciler

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/internal/object"
)

// StateFighting: another manager keeps changing fields Flotilla takes back; healing paused.
const StateFighting SyncState = "Fighting"

// fightKey names one field of one object of one pair.
type fightKey struct {
	pair  string
	id    object.ID
	field string // "" when the change named no field (a deletion, an unknown manager)
}

// fight is what the agent knows of the take-backs of one field.
type fight struct {
	// heals are when the field was taken from Flotilla within the last FightWindow.
	heals []time.Time
	// manager took the field last, at seen.
	manager string
	seen    time.Time
	// quiet is set while the field is fought over (its object is not healed): it fires once
	// the manager has left the field alone for FightWindow.
	quiet *time.Timer
}

// fought counts a take-back of each field the drift event names (called with a.mu held) and
// reports whether every one of them is fought over, so that the object is not healed now: a
// field taken more than FightLimit times within FightWindow is, until its manager leaves it
// alone for FightWindow (then the pair is queued, and the reconcile takes it back). A re-report
// of drift not taken back (a resync) is not a new take-back.
func (a *Agent) fought(key string, ev clusters.DriftEvent) bool {
	a.forgetOldFights(ev.Seen)
	fields := ev.Fields
	if len(fields) == 0 {
		fields = []string{""}
	}
	all, started := true, false
	for _, field := range fields {
		k := fightKey{pair: key, id: ev.ID, field: field}
		f := a.drift.fights[k]
		if f == nil {
			f = &fight{}
			a.drift.fights[k] = f
		}
		if f.quiet != nil { // fought over: its manager is not quiet
			if !ev.Resync {
				f.manager, f.seen = ev.Manager, ev.Seen
				f.quiet.Reset(a.opts.FightWindow)
			}
			continue
		}
		if ev.Resync {
			all = false
			continue
		}
		f.manager, f.seen = ev.Manager, ev.Seen
		f.heals = append(slices.DeleteFunc(f.heals, func(t time.Time) bool { return ev.Seen.Sub(t) >= a.opts.FightWindow }), ev.Seen)
		if len(f.heals) <= a.opts.FightLimit {
			all = false
			continue
		}
		f.quiet = time.AfterFunc(a.opts.FightWindow, func() { a.quiet(k) })
		started = true
		a.logger.Warn("fighting over a field: healing the object paused", "app", ev.App, "cluster", ev.Cluster, "object", ev.ID.String(),
			"field", field, "manager", ev.Manager, "takeBacks", len(f.heals), "within", a.opts.FightWindow.String())
	}
	if started || all {
		if st := a.status[key]; st != nil {
			a.showFights(key, st)
		}
	}
	return all
}

// stillFighting notes a change to an object fought over by the manager that fights over it,
// which leaves Flotilla's fields alone because it holds them already: the manager is not quiet
// (called with a.mu held).
func (a *Agent) stillFighting(key string, ev clusters.DriftEvent) {
	if ev.Resync || ev.Manager == "" {
		return
	}
	for k, f := range a.drift.fights {
		if k.pair == key && k.id == ev.ID && f.quiet != nil && f.manager == ev.Manager {
			f.seen = ev.Seen
			f.quiet.Reset(a.opts.FightWindow)
		}
	}
}

// forgetOldFights drops the counts of fields not fought over and not taken within FightWindow
// (called with a.mu held).
func (a *Agent) forgetOldFights(now time.Time) {
	for k, f := range a.drift.fights {
		if f.quiet == nil && now.Sub(f.seen) >= a.opts.FightWindow {
			delete(a.drift.fights, k)
		}
	}
}

// quiet ends the fight over a field whose manager left it alone for FightWindow: healing
// resumes, starting with a reconcile of the pair that takes it back.
func (a *Agent) quiet(k fightKey) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.drift.fights[k]
	if f == nil || f.quiet == nil {
		return
	}
	if left := a.opts.FightWindow - time.Since(f.seen); left > 0 { // taken again meanwhile
		f.quiet.Reset(left)
		return
	}
	delete(a.drift.fights, k)
	if _, ok := a.pairs[k.pair]; !ok {
		return
	}
	a.logger.Info("fight over: healing resumes", "pair", k.pair, "object", k.id.String(), "field", k.field, "manager", f.manager)
	note := fmt.Sprintf("%s: %s left alone by %s for %s", k.id, orUnknown(k.field, "the object"), orUnknown(f.manager, "an unknown manager"), a.opts.FightWindow)
	a.queueFor(k.pair, Cause{Trigger: history.TriggerDrift, Actor: history.Actor{Agent: true}, Drift: []string{note}})
}

// orUnknown is s, or what stands for it when it is "".
func orUnknown(s, unknown string) string {
	if s == "" {
		return unknown
	}
	return s
}

// stopFights ends the fights of pairs no longer configured (called with a.mu held).
func (a *Agent) stopFights(pairs map[string]AppCluster) {
	for k, f := range a.drift.fights {
		if _, ok := pairs[k.pair]; !ok {
			if f.quiet != nil {
				f.quiet.Stop()
			}
			delete(a.drift.fights, k)
		}
	}
}

// foughtObjects are the pair's objects fought over now, each with its manager, fields and
// when it was last taken, by object (called with a.mu held).
func (a *Agent) foughtObjects(key string) map[object.ID]DriftedObject {
	var out map[object.ID]DriftedObject
	for k, f := range a.drift.fights {
		if k.pair != key || f.quiet == nil {
			continue
		}
		if out == nil {
			out = map[object.ID]DriftedObject{}
		}
		d := out[k.id]
		d.ID = k.id
		if f.seen.After(d.Seen) {
			d.Manager, d.Seen = f.manager, f.seen
		}
		if k.field != "" {
			d.Fields = append(d.Fields, k.field)
			slices.Sort(d.Fields)
		}
		out[k.id] = d
	}
	return out
}

// showFights puts the pair's objects fought over in its status, with their manager and
// fields, and reports a pair that is otherwise synced as Fighting (called with a.mu held).
func (a *Agent) showFights(key string, st *PairStatus) {
	fought := a.foughtObjects(key)
	for _, d := range fought {
		st.Drifted = upsertDrifted(st.Drifted, d)
	}
	slices.SortFunc(st.Drifted, func(x, y DriftedObject) int { return strings.Compare(x.ID.String(), y.ID.String()) })
	if len(fought) > 0 && (st.State == StateSynced || st.State == StateUnknown) {
		st.State = StateFighting
	}
}

// pausedObjects are the pair's objects fought over, which its reconciles leave alone: taking
// the fields back would only restart the fight (called with a.mu held).
func (a *Agent) pausedObjects(key string) map[object.ID]string {
	fought := a.foughtObjects(key)
	if len(fought) == 0 {
		return nil
	}
	paused := make(map[object.ID]string, len(fought))
	for id, d := range fought {
		paused[id] = fmt.Sprintf("healing paused: %s keeps taking %s (fighting)", orUnknown(d.Manager, "another manager"), orUnknown(strings.Join(d.Fields, ", "), "it"))
	}
	return paused
}
