package history

import (
	"context"
	"fmt"
)

// RolloutApp is the cluster column of the changes that record an App's rollout (they concern
// the App, not one cluster).
const RolloutApp = "*"

// SaveRollout keeps the state of app's rollout along its waves (a JSON document the
// reconciler owns) and records each transition that led to it as a change with trigger
// rollout (no write to a cluster): result the transition's kind (Started, Passed, Halted,
// Promoted, …), reason what it means. The transitions are recorded first, so that the state
// kept never runs ahead of the ledger.
func (l *Ledger) SaveRollout(ctx context.Context, app string, state []byte, transitions ...Change) error {
	for i := range transitions {
		c := &transitions[i]
		c.App, c.Cluster, c.Trigger = app, RolloutApp, TriggerRollout
		if err := l.Record(ctx, c); err != nil {
			return fmt.Errorf("record the rollout of %s: %w", app, err)
		}
	}
	return l.store.SetRollout(ctx, app, state)
}

// Rollout returns the state of app's rollout, nil when it has none.
func (l *Ledger) Rollout(ctx context.Context, app string) ([]byte, error) {
	return l.store.Rollout(ctx, app)
}
