package reconciler

import (
	"fmt"
	"io"
	"sync"
)

// Event is one thing a sync or diff pass does that someone may want to know: a Source fetched,
// a stage of one App on one cluster begun, a wait going on, a reconcile finished. The CLI
// prints them as progress lines (ProgressLines); the agent will turn them into metrics and
// status.
type Event struct {
	// App and Cluster name the App × Cluster the event is about; both are empty for an event
	// of the whole pass (a Source fetched).
	App, Cluster string
	// Stage is the stage the event belongs to: fetch, render, guard, plan, apply, prune,
	// record, health, or done.
	Stage Stage
	// Message says what happens, for people.
	Message string
	// Result is set on the done event.
	Result *Result
}

// Stage names a step of a reconcile.
type Stage string

// Stages, in the order a reconcile goes through them.
const (
	StageFetch  Stage = "fetch"
	StageRender Stage = "render"
	StageGuard  Stage = "guard"
	StagePlan   Stage = "plan"
	StageApply  Stage = "apply"
	StagePrune  Stage = "prune"
	StageRecord Stage = "record"
	StageHealth Stage = "health"
	StageDone   Stage = "done"
)

// Observer is told every Event of a pass. Reconciles of several App × Cluster pairs run at once,
// so an Observer must be safe for concurrent use.
type Observer interface {
	Observe(Event)
}

// ObserverFunc adapts a function to an Observer.
type ObserverFunc func(Event)

// Observe calls f.
func (f ObserverFunc) Observe(e Event) { f(e) }

// ProgressLines is an Observer that writes each event as a line to w, "cluster/app: message"
// or, for an event of the whole pass, the message alone; lines of parallel reconciles do not
// interleave.
func ProgressLines(w io.Writer) Observer {
	var mu sync.Mutex
	return ObserverFunc(func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		if e.App == "" && e.Cluster == "" {
			fmt.Fprintln(w, e.Message)
			return
		}
		fmt.Fprintf(w, "%s/%s: %s\n", e.Cluster, e.App, e.Message)
	})
}

// observe sends e to o, if there is one.
func observe(o Observer, e Event) {
	if o != nil {
		o.Observe(e)
	}
}
