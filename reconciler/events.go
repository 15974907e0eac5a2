package reconciler

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
)

// Event is one thing a sync or diff pass does that someone may want to know: a Source fetched,
// a stage of one App on one cluster begun, a wait going on, a reconcile finished. The CLI
// prints them as progress lines (ProgressLines); the agent logs them (LogEvents) and turns them
// into metrics (server.Metrics).
type Event struct {
	// App and Cluster name the App × Cluster the event is about; both are empty for an event
	// of the whole pass (a Source fetched).
	App, Cluster string
	// Stage is the stage the event belongs to.
	Stage Stage
	// Message says what happens, for people.
	Message string
	// Result is set on the done event.
	Result *Result
}

// Stage names a step of a reconcile.
type Stage string

// The stages that tell something, in the order a pass goes through them.
const (
	// StageFetch: a Source is fetched (an event of the whole pass).
	StageFetch Stage = "fetch"
	// StagePlan: a dry run previews its plan.
	StagePlan Stage = "plan"
	// StageApply: objects are applied, or a wait holds them up (a terminating Namespace).
	StageApply Stage = "apply"
	// StageHealth: the wait for health begins and goes on.
	StageHealth Stage = "health"
	// StagePin: the pair is held on a rolled-back revision, or a newer commit lifted the pin.
	StagePin Stage = "pin"
	// StageRollback: a rollback (asked for, or after a revision failed health) begins.
	StageRollback Stage = "rollback"
	// StageDone: a reconcile finished; Event.Result says how.
	StageDone Stage = "done"
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

// LogEvents is an Observer that logs each event at debug level and each result at info level,
// one line per reconcile with the App, cluster, stage, status, commit, writes (objects created,
// configured or pruned), duration and error as attributes.
func LogEvents(logger *slog.Logger) Observer {
	return ObserverFunc(func(e Event) {
		attrs := []any{"stage", string(e.Stage)}
		if e.App != "" {
			attrs = append(attrs, "app", e.App, "cluster", e.Cluster)
		}
		if e.Result == nil {
			logger.Debug(e.Message, attrs...)
			return
		}
		attrs = append(attrs, "status", string(e.Result.Status), "commit", e.Result.Commit, "writes", e.Result.Writes(), "duration", e.Result.Duration.String())
		if e.Result.Error != "" {
			attrs = append(attrs, "error", e.Result.Error)
		}
		logger.Info("reconciled", attrs...)
	})
}

// Observers is an Observer that tells each of observers every event.
func Observers(observers ...Observer) Observer {
	return ObserverFunc(func(e Event) {
		for _, o := range observers {
			observe(o, e)
		}
	})
}

// observe sends e to o, if there is one.
func observe(o Observer, e Event) {
	if o != nil {
		o.Observe(e)
	}
}
