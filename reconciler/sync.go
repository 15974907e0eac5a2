package reconciler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

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
	Synced Status = "Synced"
	// Healthy: synced, and every object became healthy.
	Healthy Status = "Healthy"
	// Progressing: synced, but not every object was healthy when the wait ended.
	Progressing Status = "Progressing"
	// Degraded: synced, and an object failed (e.g. ProgressDeadlineExceeded).
	Degraded Status = "Degraded"
	// Refused: a guard refused the render (nothing was applied or pruned) or the prune (the
	// render was applied, nothing was pruned); the error says which.
	Refused Status = "Refused"
	// Failed: rendering, connecting or applying failed.
	Failed Status = "Failed"
	// Planned: a dry run; nothing was written.
	Planned Status = "Planned"
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
	Duration time.Duration           `json:"duration"`
}

// Options tune one sync pass.
type Options struct {
	// App and Cluster restrict the pass to one App and/or one cluster by name.
	App, Cluster string
	DryRun       bool
	// Wait waits for health after applying, up to each App's health timeout.
	Wait           bool
	ForceConflicts bool
	// ConfirmPrune prunes even more than an App's spec.sync.maxPrunePercent allows.
	ConfirmPrune bool
	// Progress receives one line per step and cluster; nil discards them.
	Progress io.Writer
}

// Syncer holds what lasts between passes: the Git cache, the render cache and cluster clients.
type Syncer struct {
	Fetcher *gitrepo.Fetcher
	Cache   *render.Cache
	Limits  tree.Limits

	mu      sync.Mutex
	targets map[string]*clusters.Target
}

// NewSyncer returns a Syncer that caches repositories in cacheDir.
func NewSyncer(cacheDir string) *Syncer {
	return &Syncer{Fetcher: gitrepo.NewFetcher(cacheDir), Cache: render.NewCache(), Limits: tree.DefaultLimits(), targets: map[string]*clusters.Target{}}
}

// Target returns the client of a configured cluster, made once.
func (s *Syncer) Target(c *config.Cluster) (*clusters.Target, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.targets[c.Metadata.Name]; ok {
		return t, nil
	}
	t, err := clusters.NewTarget(c)
	if err != nil {
		return nil, err
	}
	s.targets[c.Metadata.Name] = t
	return t, nil
}

// work is one App on one cluster at one revision, or with the error that kept its Source from
// being fetched.
type work struct {
	checkout *sources.Checkout
	fetchErr error
	app      *config.App
	cluster  *config.Cluster
}

// selectWork fetches each needed Source once and lists every App × Cluster the options select.
// A Source that cannot be fetched fails its Apps only.
func (s *Syncer) selectWork(ctx context.Context, cfg *config.Config, opts Options, out io.Writer) ([]work, error) {
	var items []work
	checkouts := map[string]*sources.Checkout{}
	fetchErrs := map[string]error{}
	for i := range cfg.Apps {
		app := &cfg.Apps[i]
		if opts.App != "" && app.Metadata.Name != opts.App {
			continue
		}
		selected, err := policies.SelectClusters(app.Spec.ClusterSelector, cfg.Clusters)
		if err != nil {
			return nil, fmt.Errorf("App/%s: %w", app.Metadata.Name, err)
		}
		for _, c := range selected {
			if opts.Cluster != "" && c.Metadata.Name != opts.Cluster {
				continue
			}
			checkout, fetched := checkouts[app.Spec.Source]
			fetchErr, failed := fetchErrs[app.Spec.Source]
			if !fetched && !failed {
				fmt.Fprintf(out, "fetching Source/%s\n", app.Spec.Source)
				checkout, fetchErr = sources.Fetch(ctx, s.Fetcher, cfg.Source(app.Spec.Source), s.Limits, s.Cache)
				if fetchErr != nil {
					fmt.Fprintf(out, "%v\n", fetchErr)
					fetchErrs[app.Spec.Source] = fetchErr
				} else {
					rev := checkout.Fetched.Revision
					fmt.Fprintf(out, "Source/%s at %s (%s): %s\n", app.Spec.Source, rev.ShortCommit(), rev.Ref, rev.Subject())
					checkouts[app.Spec.Source] = checkout
				}
			}
			items = append(items, work{checkout: checkout, fetchErr: fetchErr, app: app, cluster: c})
		}
	}
	if len(items) == 0 {
		return nil, errors.New(nothingSelected(cfg, opts))
	}
	return items, nil
}

// maxParallel bounds the App × Cluster syncs that run at once; each also bounds its own writes.
const maxParallel = 8

// inParallel runs fn for the work items, maxParallel at a time, and returns the results in App,
// Cluster order.
func inParallel[T any](items []work, fn func(work) T) []T {
	results := make([]T, len(items))
	var wg sync.WaitGroup
	limit := make(chan struct{}, maxParallel)
	for i, w := range items {
		wg.Go(func() {
			limit <- struct{}{}
			defer func() { <-limit }()
			results[i] = fn(w)
		})
	}
	wg.Wait()
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := items[order[a]], items[order[b]]
		if x.app.Metadata.Name != y.app.Metadata.Name {
			return x.app.Metadata.Name < y.app.Metadata.Name
		}
		return x.cluster.Metadata.Name < y.cluster.Metadata.Name
	})
	sorted := make([]T, len(items))
	for i, j := range order {
		sorted[i] = results[j]
	}
	return sorted
}

// Sync runs one pass: for every App (or opts.App) and each cluster it selects (or
// opts.Cluster), fetch, render, guard, apply, prune and optionally wait for health. Clusters
// are synced in parallel; one failing does not stop the others. The error is non-nil when a
// Source could not be fetched or the options select nothing.
func (s *Syncer) Sync(ctx context.Context, cfg *config.Config, opts Options) ([]ClusterResult, error) {
	out := progress(opts.Progress)
	items, err := s.selectWork(ctx, cfg, opts, out)
	if err != nil {
		return nil, err
	}
	return inParallel(items, func(w work) ClusterResult { return s.syncOne(ctx, w, opts, out) }), nil
}

func nothingSelected(cfg *config.Config, opts Options) string {
	switch {
	case opts.App != "" && cfg.App(opts.App) == nil:
		return fmt.Sprintf("App %q is not defined", opts.App)
	case opts.Cluster != "" && cfg.Cluster(opts.Cluster) == nil:
		return fmt.Sprintf("Cluster %q is not defined", opts.Cluster)
	}
	return "no App selects any cluster with these options"
}

// prepared is what syncing or diffing one App on one cluster starts from.
type prepared struct {
	manifests *render.Manifests
	target    *clusters.Target
	inventory *clusters.Inventory
	// live is the metadata of the inventory's objects, listed while the revision rendered.
	live *clusters.LiveObjects
	// schemas are the cluster's OpenAPI schemas, to check the render against before applying.
	schemas *clusters.Schemas
}

// prepare renders the App for the cluster and applies the render guard; meanwhile it connects,
// reads the inventory and, with prefetch (what a sync needs before it applies), lists what the
// inventory's objects look like now and loads the cluster's schemas of the kinds it held, so
// that the cluster's answers arrive and are parsed while kustomize works. With a guard's refusal
// (*policies.RefusalError) it returns the manifests too. A failed render or refusal wins over a
// cluster error: they are the App's problem, not the cluster's.
func (s *Syncer) prepare(ctx context.Context, w work, prefetch bool) (*prepared, error) {
	if w.fetchErr != nil {
		return nil, w.fetchErr
	}
	readCtx, cancelRead := context.WithCancel(ctx)
	defer cancelRead()
	read := make(chan *prepared, 1)
	var readErr error
	go func() {
		p := &prepared{}
		defer func() { read <- p }()
		app := w.app.Metadata.Name
		if p.target, readErr = s.Target(w.cluster); readErr != nil {
			return
		}
		if p.inventory, readErr = clusters.ReadInventory(readCtx, p.target, app); readErr != nil {
			readErr = fmt.Errorf("cluster %s unreachable or refusing: %w", w.cluster.Metadata.Name, readErr)
			return
		}
		if !prefetch {
			return
		}
		if p.schemas, readErr = p.target.LoadSchemas(readCtx); readErr != nil {
			return
		}
		p.schemas.Preload(ctx, inventoryGroupVersions(p.inventory)...)
		p.live = clusters.NewManager(p.target, app).Prefetch(readCtx, p.inventory, clusters.DefaultApplyOptions().Parallelism)
	}()
	manifests, err := w.checkout.Render(w.app, w.cluster)
	if err != nil {
		cancelRead()
		<-read
		return nil, err
	}
	if err := (policies.PruneGuard{AllowEmpty: w.app.Spec.Sync.AllowEmpty}).CheckRender(len(manifests.Objects)); err != nil {
		cancelRead()
		<-read
		return &prepared{manifests: manifests}, err
	}
	p := <-read
	p.manifests = manifests
	return p, readErr
}

// inventoryGroupVersions are the group-versions of the inventory's objects, or, before the
// first sync, those of the kinds nearly every App has (ConfigMaps, Services, Deployments…).
func inventoryGroupVersions(inv *clusters.Inventory) []schema.GroupVersion {
	if len(inv.Entries) == 0 {
		return []schema.GroupVersion{{Version: "v1"}, {Group: "apps", Version: "v1"}}
	}
	seen := map[schema.GroupVersion]bool{}
	var gvs []schema.GroupVersion
	for _, e := range inv.Entries {
		if gv := e.GroupVersionKind().GroupVersion(); !seen[gv] {
			seen[gv] = true
			gvs = append(gvs, gv)
		}
	}
	return gvs
}

// syncOne syncs one App to one cluster.
func (s *Syncer) syncOne(ctx context.Context, w work, opts Options, out io.Writer) ClusterResult {
	started := time.Now()
	checkout, app, c := w.checkout, w.app, w.cluster
	r := ClusterResult{App: app.Metadata.Name, Cluster: c.Metadata.Name}
	finish := func(status Status, err error) ClusterResult {
		r.Status, r.Duration = status, time.Since(started).Round(time.Millisecond)
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
		return finish(Refused, err)
	case err != nil:
		return finish(Failed, err)
	}
	manifests, target, inv := p.manifests, p.target, p.inventory
	if err := p.schemas.Check(ctx, manifests.Objects, clusters.CRDKinds(manifests.Objects)); err != nil {
		return finish(Failed, fmt.Errorf("the cluster's schema refuses the render; nothing was applied or pruned:\n%w", err))
	}
	before := inv.Clone()
	writeInventory := func() error {
		if inv.SameAs(before) {
			return nil
		}
		return clusters.WriteInventory(ctx, target, inv)
	}
	fmt.Fprintf(out, "%s/%s: applying %d objects\n", r.Cluster, r.App, len(manifests.Objects))
	manager := clusters.NewManager(target, app.Metadata.Name)
	applyOpts := clusters.DefaultApplyOptions()
	applyOpts.ForceConflicts, applyOpts.Adopt, applyOpts.DryRun = opts.ForceConflicts, app.Spec.Sync.Adopt, opts.DryRun
	applyOpts.Live = p.live
	changes, applyErr := manager.Apply(ctx, manifests.Objects, inv, applyOpts)
	r.Changes = changes
	if opts.DryRun {
		return finish(Planned, applyErr)
	}
	inv.Revision, inv.Digest = checkout.Fetched.Revision.Commit, manifests.Digest
	if applyErr != nil {
		// Record what did apply, so that it can be pruned later; prune nothing now.
		if err := writeInventory(); err != nil {
			applyErr = errors.Join(applyErr, err)
		}
		return finish(Failed, applyErr)
	}
	if app.Spec.Sync.Prune {
		desired := map[render.ObjectID]bool{}
		for _, ch := range changes {
			desired[ch.ID] = true
		}
		if err := checkPruneShare(app, opts, before, desired); err != nil {
			return finish(Refused, errors.Join(err, writeInventory()))
		}
		pruned, err := manager.Prune(ctx, desired, inv, applyOpts.Parallelism)
		r.Changes = append(r.Changes, pruned...)
		if err != nil {
			return finish(Failed, errors.Join(err, writeInventory()))
		}
	}
	if err := writeInventory(); err != nil {
		return finish(Failed, err)
	}
	if !opts.Wait {
		return finish(Synced, nil)
	}
	return finish(waitHealthy(ctx, manager, inv, changes, app, &r))
}

// checkPruneShare refuses, unless confirmed, to prune more of the objects the inventory held
// before this sync than the App's spec.sync.maxPrunePercent.
func checkPruneShare(app *config.App, opts Options, before *clusters.Inventory, desired map[render.ObjectID]bool) error {
	limit := app.Spec.Sync.MaxPrunePercent
	if limit == 0 || opts.ConfirmPrune {
		return nil
	}
	guard := policies.PruneGuard{MaxShare: float64(limit) / 100}
	if err := guard.CheckPrune(len(before.Entries), len(before.Stale(desired))); err != nil {
		return fmt.Errorf("%w (spec.sync.maxPrunePercent: %d); the render was applied; run flotilla sync --confirm-prune to prune them", err, limit)
	}
	return nil
}

func waitHealthy(ctx context.Context, manager *clusters.Manager, inv *clusters.Inventory, changes clusters.ChangeSet, app *config.App, r *ClusterResult) (Status, error) {
	timeout := app.Spec.Health.Timeout.Duration
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	ids := make([]render.ObjectID, 0, len(changes))
	versions := map[render.ObjectID]string{}
	for _, ch := range changes {
		ids = append(ids, ch.ID)
	}
	for _, e := range inv.Entries {
		versions[e.ObjectID] = e.Version
	}
	health, err := manager.WaitHealthy(ctx, ids, versions, timeout)
	r.Health = health
	if err != nil {
		return Failed, err
	}
	status := Healthy
	for _, h := range health {
		switch h.Status {
		case clusters.Degraded:
			return Degraded, fmt.Errorf("%s is degraded: %s", h.ID, h.Reason)
		case clusters.Healthy:
		default:
			status = Progressing
		}
	}
	if status == Progressing {
		return status, fmt.Errorf("not healthy after %s: %s", timeout, firstUnhealthy(health))
	}
	return status, nil
}

func firstUnhealthy(health []clusters.ObjectHealth) string {
	for _, h := range health {
		if h.Status != clusters.Healthy {
			return fmt.Sprintf("%s is %s: %s", h.ID, h.Status, h.Reason)
		}
	}
	return ""
}

// summary is " (3 created, 1 configured, …)" for a progress line.
func summary(r ClusterResult) string {
	s := ""
	for _, a := range []clusters.Action{clusters.Created, clusters.Configured, clusters.Unchanged, clusters.Pruned, clusters.Skipped, clusters.Failed} {
		if n := r.Changes.Count(a); n > 0 {
			s += fmt.Sprintf(", %d %s", n, a)
		}
	}
	if s != "" {
		s = " (" + s[2:] + ")"
	}
	if r.Error != "" {
		s += ": " + r.Error
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
