package reconciler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/policies"
	"github.com/flotilla-dev/flotilla/sources"
	"github.com/flotilla-dev/flotilla/sources/gitrepo"
	"github.com/flotilla-dev/flotilla/sources/render"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

// Status of one App on one cluster after a sync.
type Status string

// Statuses.
const (
	// Synced: applied (and pruned); health not waited for.
	StatusSynced Status = "Synced"
	// Healthy: synced, and every object became healthy.
	StatusHealthy Status = "Healthy"
	// Progressing: synced, but not every object was healthy when the wait ended.
	StatusProgressing Status = "Progressing"
	// Degraded: synced, and an object failed (e.g. ProgressDeadlineExceeded).
	StatusDegraded Status = "Degraded"
	// Refused: a guard refused the render (empty) or what it would prune; nothing was applied
	// or pruned, and the error says why and how to go ahead.
	StatusRefused Status = "Refused"
	// Failed: rendering, connecting or applying failed.
	StatusFailed Status = "Failed"
	// Planned: a dry run; nothing was written.
	StatusPlanned Status = "Planned"
)

// ClusterResult is one App on one cluster.
type ClusterResult struct {
	App      string                  `json:"app"`
	Cluster  string                  `json:"cluster"`
	Commit   string                  `json:"commit,omitempty"`
	Digest   string                  `json:"digest,omitempty"`
	Status   Status                  `json:"status"`
	Changes  clusters.ChangeSet      `json:"changes,omitempty"`
	Health   []clusters.ObjectHealth `json:"health,omitempty"`
	Error    string                  `json:"error,omitempty"`
	Duration config.Duration         `json:"duration"`
}

// Options tune one sync pass.
type Options struct {
	// App and Cluster restrict the pass to one App and/or one cluster by name.
	App, Cluster string
	DryRun       bool
	// Wait waits for health after applying, up to each App's health timeout.
	Wait           bool
	ForceConflicts bool
	// ConfirmPrune lets this pass prune more than the prune guard allows: all of an App's
	// objects, or more than its spec.sync.maxPrunePercent.
	ConfirmPrune bool
	// Progress receives one line per step and cluster; nil discards them.
	Progress io.Writer
}

// Syncer holds what lasts between passes: the Git cache, the render cache and the cluster
// clients.
type Syncer struct {
	Fetcher  *gitrepo.Fetcher
	Cache    *render.Cache
	Limits   tree.Limits
	Clusters *clusters.Registry
}

// NewSyncer returns a Syncer that caches repositories in cacheDir.
func NewSyncer(cacheDir string) *Syncer {
	return &Syncer{Fetcher: gitrepo.NewFetcher(cacheDir), Cache: render.NewCache(), Limits: tree.DefaultLimits(), Clusters: clusters.NewRegistry()}
}

// Target returns the client of a configured cluster (see clusters.Registry).
func (s *Syncer) Target(c *config.Cluster) (*clusters.Target, error) {
	return s.Clusters.Target(c)
}

// Sync runs one pass: for every App (or opts.App) and each cluster it selects (or
// opts.Cluster), fetch, render, guard, apply, prune and optionally wait for health. Clusters
// are synced in parallel; one failing does not stop the others, and a Source that cannot be
// fetched fails its Apps' results only. The error is non-nil when an App's cluster selector is
// invalid or the options select nothing.
func (s *Syncer) Sync(ctx context.Context, cfg *config.Config, opts Options) ([]ClusterResult, error) {
	out := progress(opts.Progress)
	items, err := s.selectWork(ctx, cfg, opts, out)
	if err != nil {
		return nil, err
	}
	return inParallel(items, func(w work) ClusterResult { return s.syncOne(ctx, w, opts, out) }), nil
}

// syncOne syncs one App to one cluster.
func (s *Syncer) syncOne(ctx context.Context, w work, opts Options, out io.Writer) ClusterResult {
	started := time.Now()
	checkout, app, c := w.checkout, w.app, w.cluster
	r := ClusterResult{App: app.Metadata.Name, Cluster: c.Metadata.Name}
	finish := func(status Status, err error) ClusterResult {
		r.Status, r.Duration = status, config.Duration{Duration: time.Since(started).Round(time.Millisecond)}
		if err != nil {
			r.Error = err.Error()
		}
		fmt.Fprintf(out, "%s/%s: %s%s\n", r.Cluster, r.App, r.Status, summary(r))
		return r
	}
	if checkout != nil {
		r.Commit = checkout.Fetched.Revision.Commit
	}
	p, err := s.prepare(ctx, w, true)
	if p != nil {
		r.Digest = p.manifests.Digest
	}
	var refusal *policies.RefusalError
	switch {
	case errors.As(err, &refusal):
		return finish(StatusRefused, err)
	case err != nil:
		return finish(StatusFailed, err)
	}
	manifests, target, inv := p.manifests, p.target, p.inventory
	if err := p.schemas.Check(ctx, manifests, filesOf(checkout, app, c)); err != nil {
		return finish(StatusFailed, fmt.Errorf("the cluster's schema refuses the render; nothing was applied or pruned:\n%w", err))
	}
	before := inv.Clone()
	writeInventory := func() error {
		if inv.SameAs(before) {
			return nil
		}
		return clusters.WriteInventory(ctx, target, inv)
	}
	manager := clusters.NewManager(target, app.Metadata.Name)
	var ids []render.ObjectID // what the render's objects will be called in the cluster
	if (app.Spec.Sync.Prune && !opts.ConfirmPrune) || opts.DryRun {
		ids = manager.DesiredIDs(manifests.Objects)
	}
	if app.Spec.Sync.Prune && !opts.ConfirmPrune {
		if err := checkPrune(app, inv, ids); err != nil {
			return finish(StatusRefused, err)
		}
	}
	if opts.DryRun {
		fmt.Fprintf(out, "%s/%s: planning %d objects\n", r.Cluster, r.App, len(manifests.Objects))
		var err error
		if r.Changes, err = plan(ctx, manager, manifests.Objects, ids, inv, app, opts); err != nil {
			return finish(StatusFailed, err)
		}
		return finish(StatusPlanned, nil)
	}
	fmt.Fprintf(out, "%s/%s: applying %d objects\n", r.Cluster, r.App, len(manifests.Objects))
	applyOpts := clusters.DefaultApplyOptions()
	applyOpts.ForceConflicts, applyOpts.Adopt = opts.ForceConflicts, app.Spec.Sync.Adopt
	applyOpts.Live = p.live
	applyOpts.Progress = func(format string, args ...any) {
		fmt.Fprintf(out, "%s/%s: %s\n", r.Cluster, r.App, fmt.Sprintf(format, args...))
	}
	changes, applyErr := manager.Apply(ctx, manifests.Objects, inv, applyOpts)
	r.Changes = changes
	inv.Revision, inv.Digest = checkout.Fetched.Revision.Commit, manifests.Digest
	if applyErr != nil {
		// Record what did apply, so that it can be pruned later; prune nothing now.
		if err := writeInventory(); err != nil {
			applyErr = errors.Join(applyErr, err)
		}
		return finish(StatusFailed, applyErr)
	}
	if app.Spec.Sync.Prune {
		desired := map[render.ObjectID]bool{}
		for _, ch := range changes {
			desired[ch.ID] = true
		}
		pruned, err := manager.Prune(ctx, desired, inv, applyOpts.Parallelism)
		r.Changes = append(r.Changes, pruned...)
		if err != nil {
			return finish(StatusFailed, errors.Join(err, writeInventory()))
		}
	}
	if err := writeInventory(); err != nil {
		return finish(StatusFailed, err)
	}
	if !opts.Wait {
		return finish(StatusSynced, nil)
	}
	fmt.Fprintf(out, "%s/%s: waiting until healthy (up to %s)\n", r.Cluster, r.App, healthTimeout(app))
	return finish(waitHealthy(ctx, manager, inv, changes, app, &r, out))
}

// filesOf returns a lookup of the file each object came from, which renders once more on first
// use: only error messages need it.
func filesOf(checkout *sources.Checkout, app *config.App, c *config.Cluster) func(render.ObjectID) string {
	var once sync.Once
	var files map[render.ObjectID]string
	return func(id render.ObjectID) string {
		once.Do(func() { files = checkout.Files(app, c) })
		return files[id]
	}
}

// checkPrune asks the prune guard, before anything is applied, whether the sync may prune the
// inventory's objects that the render no longer holds.
func checkPrune(app *config.App, inv *clusters.Inventory, ids []render.ObjectID) error {
	desired := make(map[render.ObjectID]bool, len(ids))
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

func waitHealthy(ctx context.Context, manager *clusters.Manager, inv *clusters.Inventory, changes clusters.ChangeSet, app *config.App, r *ClusterResult, out io.Writer) (Status, error) {
	timeout := healthTimeout(app)
	ids := make([]render.ObjectID, 0, len(changes))
	versions := map[render.ObjectID]string{}
	for _, ch := range changes {
		ids = append(ids, ch.ID)
	}
	for _, e := range inv.Entries {
		versions[e.ObjectID] = e.Version
	}
	report := func(health []clusters.ObjectHealth) {
		pending := 0
		for _, h := range health {
			if h.Status != clusters.HealthHealthy {
				pending++
			}
		}
		fmt.Fprintf(out, "%s/%s: waiting for %d of %d objects to become healthy; %s\n", r.Cluster, r.App, pending, len(health), firstUnhealthy(health))
	}
	health, err := manager.WaitHealthy(ctx, ids, versions, timeout, report)
	r.Health = health
	if err != nil {
		return StatusFailed, err
	}
	status := StatusHealthy
	for _, h := range health {
		switch h.Status {
		case clusters.HealthDegraded:
			return StatusDegraded, fmt.Errorf("%s is degraded: %s", h.ID, h.Reason)
		case clusters.HealthHealthy:
		default:
			status = StatusProgressing
		}
	}
	if status == StatusProgressing {
		return status, fmt.Errorf("not healthy after %s: %s", timeout, firstUnhealthy(health))
	}
	return status, nil
}

// healthTimeout is the App's spec.health.timeout, 5 minutes unless set.
func healthTimeout(app *config.App) time.Duration {
	if t := app.Spec.Health.Timeout.Duration; t > 0 {
		return t
	}
	return 5 * time.Minute
}

func firstUnhealthy(health []clusters.ObjectHealth) string {
	for _, h := range health {
		if h.Status != clusters.HealthHealthy {
			return fmt.Sprintf("%s is %s: %s", h.ID, h.Status, h.Reason)
		}
	}
	return ""
}

// summary is " (3 created, 1 configured, …)" for a progress line.
func summary(r ClusterResult) string {
	s := ""
	for _, a := range []clusters.Action{clusters.ActionCreated, clusters.ActionConfigured, clusters.ActionUnchanged, clusters.ActionPruned, clusters.ActionSkipped, clusters.ActionFailed} {
		if n := r.Changes.Count(a); n > 0 {
			s += fmt.Sprintf(", %d %s", n, a)
		}
	}
	if s != "" {
		s = " (" + s[2:] + ")"
	}
	if r.Error != "" {
		s += ": " + strings.TrimPrefix(r.Error, "refused: ") // the status says it already
	}
	return s
}

func progress(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return &lockedWriter{w: w}
}

// lockedWriter serialises progress lines from parallel cluster syncs.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
