package policies

import (
	"fmt"
	"sort"
	"time"

	"github.com/robfig/cron/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/flotilla-dev/flotilla/config"
)

// Window is a sync window ready to be asked: its schedule parsed in its time zone.
type Window struct {
	Name     string
	Kind     string
	Duration time.Duration
	schedule cron.Schedule
	clusters labels.Selector
}

// ParseWindows parses an App's sync windows (config.Load validated them).
func ParseWindows(windows []config.SyncWindow) ([]Window, error) {
	out := make([]Window, 0, len(windows))
	for i, w := range windows {
		loc := time.UTC
		if w.TimeZone != "" {
			var err error
			if loc, err = time.LoadLocation(w.TimeZone); err != nil {
				return nil, fmt.Errorf("spec.windows[%d].timeZone: %w", i, err)
			}
		}
		parser := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
		schedule, err := parser.Parse(w.Schedule)
		if err != nil {
			return nil, fmt.Errorf("spec.windows[%d].schedule: %w", i, err)
		}
		if spec, ok := schedule.(*cron.SpecSchedule); ok {
			spec.Location = loc
		}
		sel, err := metav1.LabelSelectorAsSelector(&w.ClusterSelector)
		if err != nil {
			return nil, fmt.Errorf("spec.windows[%d].clusterSelector: %w", i, err)
		}
		out = append(out, Window{Name: w.Title(), Kind: w.Kind, Duration: w.Duration.Duration, schedule: schedule, clusters: sel})
	}
	return out, nil
}

// Applies says whether the window concerns the cluster.
func (w Window) Applies(cluster *config.Cluster) bool {
	return w.clusters.Matches(labels.Set(cluster.Metadata.Labels))
}

// OpenAt says whether the window is open at t, and until when: its last tick at or before t
// plus its duration, extended by ticks that come before or as it ends (a window that never
// closes, a daily 24h one say, has a zero until).
func (w Window) OpenAt(t time.Time) (open bool, until time.Time) {
	// A tick s opens the window on [s, s+duration): open at t when a tick falls in
	// (t-duration, t]. cron's Next gives the first tick strictly after a time.
	var last time.Time
	for s := w.schedule.Next(t.Add(-w.Duration)); !s.After(t); s = w.schedule.Next(s) {
		open, until, last = true, s.Add(w.Duration), s
	}
	// Every later tick before (or as) it closes keeps it open longer.
	for i := 0; open; i++ {
		next := w.schedule.Next(last)
		if next.IsZero() || next.After(until) {
			break
		}
		if i == maxExtensions {
			return true, time.Time{}
		}
		last = next
		if end := next.Add(w.Duration); end.After(until) {
			until = end
		}
	}
	return open, until
}

// maxExtensions bounds how many back-to-back ticks OpenAt follows before it calls the window
// endless.
const maxExtensions = 1000

// NextOpening is the window's first tick after t.
func (w Window) NextOpening(t time.Time) time.Time { return w.schedule.Next(t) }

// WindowDecision is whether an App may sync on a cluster on its own at a moment.
type WindowDecision struct {
	// Allowed: no deny window is open and, if the App has allow windows for the cluster, one
	// is open.
	Allowed bool `json:"allowed"`
	// Window names the window that holds the sync ("" when allowed); Until is when that hold
	// ends (the deny window's end, or the next allow window's opening; zero if never).
	Window string    `json:"window,omitempty"`
	Until  time.Time `json:"until,omitzero"`
	// Open names the windows open at the moment.
	Open []string `json:"open,omitempty"`
}

// Reason is "held by window W until T", or "" when allowed.
func (d WindowDecision) Reason() string {
	if d.Allowed {
		return ""
	}
	if d.Until.IsZero() {
		return fmt.Sprintf("held by window %q", d.Window)
	}
	return fmt.Sprintf("held by window %q until %s", d.Window, d.Until.Format(time.RFC3339))
}

// DecideWindows says whether an App with these windows may sync on the cluster at now: inside
// a deny window, or outside every allow window that concerns the cluster, it may not. Windows
// that do not concern the cluster do not count. A pure function: the clock is passed in.
func DecideWindows(windows []Window, cluster *config.Cluster, now time.Time) WindowDecision {
	var d WindowDecision
	var denyUntil time.Time
	deny, allows, allowOpen := "", 0, false
	var nextAllow time.Time
	nextAllowName := ""
	for _, w := range windows {
		if !w.Applies(cluster) {
			continue
		}
		open, until := w.OpenAt(now)
		if open {
			d.Open = append(d.Open, w.Name)
		}
		switch w.Kind {
		case config.WindowDeny:
			// The hold lasts until the last open deny window ends (an endless one: never).
			endless := deny != "" && denyUntil.IsZero()
			if open && !endless && (until.IsZero() || until.After(denyUntil)) {
				deny, denyUntil = w.Name, until
			}
		case config.WindowAllow:
			allows++
			allowOpen = allowOpen || open
			if next := w.NextOpening(now); !next.IsZero() && (nextAllow.IsZero() || next.Before(nextAllow)) {
				nextAllow, nextAllowName = next, w.Name
			}
		}
	}
	sort.Strings(d.Open)
	switch {
	case deny != "":
		d.Window, d.Until = deny, denyUntil
	case allows > 0 && !allowOpen:
		d.Window, d.Until = nextAllowName, nextAllow
		if d.Window == "" {
			d.Window = "allow windows"
		}
	default:
		d.Allowed = true
	}
	return d
}

// HeldError is a sync held by a window: someone can sync anyway (--override-window).
type HeldError struct {
	Decision WindowDecision
}

func (e *HeldError) Error() string {
	return e.Decision.Reason() + "; nothing was applied (flotilla sync --override-window syncs now, recorded as an override)"
}

// NextOpening is the first of the windows concerning the cluster that opens after now (an
// allow window opening, or a deny window starting), with its name; zero when none will.
func NextOpening(windows []Window, cluster *config.Cluster, now time.Time) (name string, at time.Time) {
	for _, w := range windows {
		if !w.Applies(cluster) {
			continue
		}
		if next := w.NextOpening(now); !next.IsZero() && (at.IsZero() || next.Before(at)) {
			name, at = w.Name, next
		}
	}
	return name, at
}
