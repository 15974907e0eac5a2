package reconciler

import (
	"context"
	"errors"
	"fmt"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/policies"
	"github.com/flotilla-dev/flotilla/sources/render"
)

// Checks the guard makes, in order.
const (
	CheckEmpty   = "empty render"
	CheckCluster = "cluster"
	CheckSchema  = "schema"
	CheckPrune   = "prune share"
	CheckWindow  = "sync window"
	CheckMesh    = "mesh"
)

// Finding is one reason the guard gives for not applying a render.
type Finding struct {
	// Check is the check that found it (CheckEmpty, ...).
	Check string
	Err   error
}

// Findings are the guard's reasons, in the order of its checks.
type Findings []Finding

// Err joins the findings, nil when there are none.
func (f Findings) Err() error {
	errs := make([]error, len(f))
	for i, finding := range f {
		errs[i] = finding.Err
	}
	return errors.Join(errs...)
}

// Status is what the first finding makes of the App: Refused for a *policies.RefusalError (a
// decision someone can override), Failed for anything else.
func (f Findings) Status() Status { return statusOf(f[0].Err) }

// guard is the one place that decides whether a render may be applied to the cluster, before
// anything is. It judges the render alone first (it must not be empty, unless the App allows
// it), which needs nothing from the cluster, so that a bad render is refused at once; then it
// waits for the cluster read (the cluster must be reachable), and judges the render against
// the cluster: every object must pass the cluster's own schema (read for a sync only), and
// the prune must not take more than the App allows (unless the pass confirms it). It returns
// what it read of the cluster, and every finding of the checks it could make. A sync window
// that holds the App is judged first, before the cluster is asked anything (see
// checkWindow). Waves are not judged here: a one-shot sync refuses an App with waves before
// its reconcile starts (sync.go), and the agent decides which of its pairs may take the
// target (reconcileInWaves) before calling Reconcile.
//
// The mesh guardrails (policies.Mesh) judge the render's Istio policy: first alone, so that
// an error there refuses the render before the cluster is even waited for; then, for the
// references the render does not resolve (a Service, Gateway or Secret of the cluster), with a
// few LISTs of the cluster. Their errors fail the pair (a MeshError: a broken commit, which no
// option overrides), their warnings go into the result.
func (r *run) guard(ctx context.Context, desired *render.Manifests, conn *connection) (*clusterState, Findings) {
	if err := r.checkWindow(); err != nil {
		conn.abandon()
		return nil, Findings{{CheckWindow, err}}
	}
	if err := checkEmpty(r.key.App, desired); err != nil {
		conn.abandon()
		return nil, Findings{{CheckEmpty, err}}
	}
	originOf := r.originOf()
	mesh := r.checkMeshRender(desired)
	if len(mesh.report.Findings.Errors()) > 0 && !r.restoring() {
		conn.abandon()
		return nil, Findings{*r.judgeMesh(mesh, nil, originOf)}
	}
	cluster, err := conn.wait()
	if err != nil {
		return nil, Findings{{CheckCluster, err}}
	}
	cluster.ids = cluster.manager.DesiredIDs(desired.Objects)
	var findings Findings
	if finding := r.judgeMesh(mesh, mesh.withCluster(ctx, cluster.target), originOf); finding != nil {
		findings = append(findings, *finding)
	}
	if err := cluster.schemas.Check(ctx, desired, clusters.CheckOptions{OriginOf: originOf}); err != nil {
		findings = append(findings, Finding{CheckSchema, fmt.Errorf("the cluster's schema refuses the render; nothing was applied or pruned:\n%w", err)})
	}
	if r.key.App.Spec.Sync.Prune && !r.opts.ConfirmPrune {
		if err := checkPrune(r.key.App, cluster.inventory, cluster.ids); err != nil {
			findings = append(findings, Finding{CheckPrune, err})
		}
	}
	return cluster, findings
}

// checkEmpty refuses an empty render unless the App allows it: a render that lost every object
// (a bad merge, a wrong path) would otherwise prune the App away.
func checkEmpty(app *config.App, desired *render.Manifests) error {
	return policies.PruneGuard{AllowEmpty: app.Spec.Sync.AllowEmpty}.CheckRender(len(desired.Objects))
}

// checkPrune asks the prune guard, before anything is applied, whether the sync may prune the
// inventory's objects that the render no longer holds.
func checkPrune(app *config.App, inv *clusters.Inventory, ids []object.ID) error {
	limit := app.Spec.Sync.MaxPrunePercent
	guard := policies.PruneGuard{AllowEmpty: app.Spec.Sync.AllowEmpty, MaxShare: float64(limit) / 100}
	err := guard.CheckPrune(len(inv.Entries), len(inv.Stale(idSet(ids))), len(ids))
	switch {
	case err == nil:
		return nil
	case limit > 0:
		return fmt.Errorf("%w (spec.sync.maxPrunePercent: %d); if that is intended, run flotilla sync --confirm-prune", err, limit)
	}
	return fmt.Errorf("%w; if that is intended, run flotilla sync --confirm-prune (or set spec.sync.maxPrunePercent: 100)", err)
}

// checkWindow holds a sync that the App's sync windows do not allow on the cluster now: a
// *policies.HeldError saying until when. A dry run is held too, as the sync it previews would
// be; a pass that only compares (Options.comparing) is not. With OverrideWindow the sync (or dry run) goes on, and the ledger records the override
// as the change's reason.
func (r *run) checkWindow() error {
	if r.opts.comparing {
		return nil
	}
	decision, err := r.window()
	if err != nil || decision == nil {
		return err
	}
	r.result.Window = decision
	if decision.Allowed {
		return nil
	}
	if !r.opts.OverrideWindow {
		return &policies.HeldError{Decision: *decision}
	}
	override := "sync window override: " + decision.Reason()
	if r.opts.Cause.Reason != "" {
		override = r.opts.Cause.Reason + "; " + override
	}
	r.opts.Cause.Reason = override
	r.event(StagePlan, override)
	return nil
}

// window is what the App's sync windows decide for the pass now, nil when none concern it: the
// App has none, or the pass rolls back (putting a cluster back is what one does in a hurry).
func (r *run) window() (*policies.WindowDecision, error) {
	trigger := r.opts.Cause.trigger()
	if len(r.key.App.Spec.Windows) == 0 || trigger == history.TriggerRollback || trigger == history.TriggerAutoRollback {
		return nil, nil
	}
	windows, err := policies.ParseWindows(r.key.App.Spec.Windows)
	if err != nil {
		return nil, err
	}
	decision := policies.DecideWindows(windows, r.key.Cluster, r.syncer.now())
	return &decision, nil
}
