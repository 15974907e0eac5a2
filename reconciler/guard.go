package reconciler

import (
	"context"
	"errors"
	"fmt"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/policies"
	"github.com/flotilla-dev/flotilla/sources/render"
)

// Findings are the guard's reasons to stop a reconcile before anything is written. A
// *policies.RefusalError among them makes the App Refused (a decision someone can override);
// any other, Failed.
type Findings []error

// Err joins the findings, nil when there are none.
func (f Findings) Err() error { return errors.Join(f...) }

// guard is the one place that decides whether a render may be applied to the cluster, before
// anything is: the render must not be empty (unless allowed), the cluster must be reachable,
// every object must pass the cluster's own schema, and the prune must not take more than the
// App allows. It stops at the first finding. Sync windows, waves and mesh checks will join here.
func (r *run) guard(ctx context.Context, desired *render.Manifests, live *clusterState, connErr error) Findings {
	if err := checkEmpty(r.key.App, desired); err != nil {
		return Findings{err}
	}
	if connErr != nil {
		return Findings{connErr}
	}
	if err := live.schemas.Check(ctx, desired, r.fileOf()); err != nil {
		return Findings{fmt.Errorf("the cluster's schema refuses the render; nothing was applied or pruned:\n%w", err)}
	}
	if r.key.App.Spec.Sync.Prune && !r.opts.ConfirmPrune {
		if err := checkPrune(r.key.App, live.inventory, live.desiredIDs(desired)); err != nil {
			return Findings{err}
		}
	}
	return nil
}

// checkEmpty refuses an empty render unless the App allows it: a render that lost every object
// (a bad merge, a wrong path) would otherwise prune the App away.
func checkEmpty(app *config.App, desired *render.Manifests) error {
	return policies.PruneGuard{AllowEmpty: app.Spec.Sync.AllowEmpty}.CheckRender(len(desired.Objects))
}

// checkPrune asks the prune guard, before anything is applied, whether the sync may prune the
// inventory's objects that the render no longer holds.
func checkPrune(app *config.App, inv *clusters.Inventory, ids []object.ID) error {
	desired := make(map[object.ID]bool, len(ids))
	for _, id := range ids {
		desired[id] = true
	}
	limit := app.Spec.Sync.MaxPrunePercent
	guard := policies.PruneGuard{AllowEmpty: app.Spec.Sync.AllowEmpty, MaxShare: float64(limit) / 100}
	err := guard.CheckPrune(len(inv.Entries), len(inv.Stale(desired)), len(desired))
	switch {
	case err == nil:
		return nil
	case limit > 0:
		return fmt.Errorf("%w (spec.sync.maxPrunePercent: %d); if that is intended, run flotilla sync --confirm-prune", err, limit)
	}
	return fmt.Errorf("%w; if that is intended, run flotilla sync --confirm-prune (or set spec.sync.maxPrunePercent: 100)", err)
}
