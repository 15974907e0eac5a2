package history

import (
	"context"
	"errors"
	"fmt"
)

// Pin keeps app on cluster at the revision a rollback restored (see Pin).
func (l *Ledger) Pin(ctx context.Context, pin Pin) error {
	if pin.Since.IsZero() {
		pin.Since = l.now().UTC()
	}
	return l.store.SetPin(ctx, pin.App, pin.Cluster, &pin)
}

// Unpin lets app on cluster follow its Source again.
func (l *Ledger) Unpin(ctx context.Context, app, cluster string) error {
	return l.store.SetPin(ctx, app, cluster, nil)
}

// Pins returns every pin.
func (l *Ledger) Pins(ctx context.Context) ([]Pin, error) { return l.store.Pins(ctx) }

// PinOf returns app's pin on cluster, nil when it is not pinned.
func (l *Ledger) PinOf(ctx context.Context, app, cluster string) (*Pin, error) {
	pins, err := l.store.Pins(ctx)
	if err != nil {
		return nil, err
	}
	for i := range pins {
		if pins[i].App == app && pins[i].Cluster == cluster {
			return &pins[i], nil
		}
	}
	return nil, nil
}

// Applied are the results of changes that applied a revision whole.
var Applied = []Result{"Synced", "Healthy", "Progressing", "Degraded"}

// Last returns the newest change of app on cluster that ended with one of results and has a
// snapshot, or nil when there is none.
func (l *Ledger) Last(ctx context.Context, app, cluster string, results ...Result) (*Change, error) {
	ends, err := l.store.Entries(ctx, EntryFilter{Phase: PhaseEnd, App: app, Cluster: cluster, Results: results, Limit: 20})
	if err != nil {
		return nil, err
	}
	for _, e := range ends {
		c, err := l.Get(ctx, e.Change)
		if errors.Is(err, ErrNotFound) {
			continue // its begin was dropped by retention
		}
		if err != nil {
			return nil, fmt.Errorf("change %d: %w", e.Change, err)
		}
		if c.Snapshot != "" {
			return c, nil
		}
	}
	return nil, nil
}
