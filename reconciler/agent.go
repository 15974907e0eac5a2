package reconciler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/util/workqueue"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/sources/webhook"
)

// AgentOptions tune an Agent; DefaultAgentOptions gives the defaults.
type AgentOptions struct {
	// Workers bound the App × Cluster reconciles that run at once.
	Workers int
	// RetryBase and RetryMax bound the exponential backoff (with ±20 % jitter) of a pair whose
	// reconcile failed: RetryBase, twice that, … up to RetryMax.
	RetryBase, RetryMax time.Duration
	// Grace is how long in-flight reconciles may go on once Run's context ends (queued ones
	// are not started).
	Grace time.Duration
	// Observer is told every event of every reconcile and fetch (nil: no one).
	Observer Observer
	// Logger logs what the agent does (nil: slog.Default()).
	Logger *slog.Logger
	// FightLimit and FightWindow detect a fight over a field: when another manager took the
	// same field of an object from Flotilla more than FightLimit times within FightWindow
	// (another controller keeps setting it), the agent stops healing the object, its
	// reconciles leave it alone, and its pair reports Fighting, naming the manager and the
	// fields, until the manager has left the fields alone for FightWindow: then the agent
	// takes them back.
	FightLimit  int
	FightWindow time.Duration
	// FetchTimeout bounds each poll of a Source: a Git server that stops answering fails the
	// fetch instead of holding the Source's poller.
	FetchTimeout time.Duration
	// OnFetch, when set, is told each poll of a Source: how long it took and how it failed.
	OnFetch func(source string, took time.Duration, err error)
	// OnWatchError, when set, is told each time a cluster's drift watch fails (it restarts).
	OnWatchError func(cluster string, err error)
	// OnDrift, when set, is told every change someone else made to Flotilla's fields of a
	// managed object (or its deletion), with the App's drift mode, whatever it is (enforce,
	// warn or ignore), for metrics; not the changes of the App's drift.ignoreManagers.
	OnDrift func(ev clusters.DriftEvent, mode string)
	// OnClusterRemoved, when set, is told each cluster a reload removed from the
	// configuration, for metrics to forget it.
	OnClusterRemoved func(cluster string)
}

// DefaultAgentOptions: 4 workers, retries from 1 s up to 5 min, 30 s of grace, a fight is a
// field taken from Flotilla more than 5 times within 2 minutes, 5 minutes for a fetch.
func DefaultAgentOptions() AgentOptions {
	return AgentOptions{Workers: 4, RetryBase: time.Second, RetryMax: 5 * time.Minute, Grace: 30 * time.Second,
		FightLimit: 5, FightWindow: 2 * time.Minute, FetchTimeout: 5 * time.Minute}
}

// Agent keeps every App × Cluster of a configuration equal to Git, for as long as it runs: it
// polls each Source on its interval (an unchanged remote head costs one ref listing, no
// fetch), and reconciles each pair through a rate-limited work queue (client-go's workqueue:
// a pair queued twice is reconciled once, never two at once, failures retried with
// exponential backoff and jitter, a bounded number of workers). An App whose
// spec.sync.automated is false is only compared with Git (a dry run: OutOfSync or Synced)
// until someone asks for a sync. What each pair came to is kept as its PairStatus.
//
// The agent holds no state of its own that a restart loses: the clusters' inventories say
// what is applied, and the first pass after a start reconciles every pair, writing nothing
// that is already live.
type Agent struct {
	syncer *Syncer
	opts   AgentOptions
	logger *slog.Logger
	queue  workqueue.TypedRateLimitingInterface[string]

	mu       sync.Mutex
	cfg      *config.Config
	pairs    map[string]AppCluster // by key "app/cluster"
	requests map[string]Options    // syncs someone asked for, by key
	causes   map[string]Cause      // why each queued pair is queued, for the ledger
	// pushed are the Sources a webhook poked, whose next fetch is the webhook's.
	pushed    map[string]bool
	revisions map[string]*fetched // each Source's latest revision
	// sourceErrors are the errors of the Sources whose last fetch failed.
	sourceErrors map[string]string
	status       map[string]*PairStatus
	// busy are the pairs being reconciled: their own prunes come back as deletions.
	busy      map[string]bool
	pollers   *pollers
	reloadErr string
	// runCtx is Run's context, for the watches; drift holds them.
	runCtx context.Context
	drift  *driftWatches
	memory idleMemory
	health healthChecks
	// stopping: Run's context ended; no more work is taken.
	stopping atomic.Bool
}

// NewAgent returns an Agent for cfg that reconciles with s. Run starts it. It wraps s.Recorder,
// so that what each reconcile records also tells the agent which kinds to watch for drift: give
// it a Syncer of its own.
func NewAgent(s *Syncer, cfg *config.Config, opts AgentOptions) *Agent {
	defaults := DefaultAgentOptions()
	if opts.Workers <= 0 {
		opts.Workers = defaults.Workers
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = defaults.RetryBase
	}
	if opts.RetryMax < opts.RetryBase {
		opts.RetryMax = max(defaults.RetryMax, opts.RetryBase)
	}
	if opts.Grace <= 0 {
		opts.Grace = defaults.Grace
	}
	if opts.FetchTimeout <= 0 {
		opts.FetchTimeout = defaults.FetchTimeout
	}
	if opts.FightLimit <= 0 || opts.FightWindow <= 0 {
		opts.FightLimit, opts.FightWindow = defaults.FightLimit, defaults.FightWindow
	}
	a := &Agent{
		syncer: s, opts: opts, logger: opts.Logger,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(newRetryLimiter(opts.RetryBase, opts.RetryMax),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "flotilla"}),
		requests: map[string]Options{}, causes: map[string]Cause{}, pushed: map[string]bool{}, revisions: map[string]*fetched{}, sourceErrors: map[string]string{},
		status: map[string]*PairStatus{}, busy: map[string]bool{}, drift: newDriftWatches(),
	}
	if a.logger == nil {
		a.logger = slog.Default()
	}
	if _, wrapped := s.Recorder.(recorder); !wrapped {
		s.Recorder = recorder{next: s.Recorder, agent: a}
	}
	a.setConfig(cfg)
	return a
}

// Run polls and reconciles until ctx ends, then stops taking work, lets the reconciles under
// way finish for up to the grace period (their context ends after it), and returns.
func (a *Agent) Run(ctx context.Context) error {
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	if a.syncer.Ledger != nil {
		closed, err := a.syncer.Ledger.CloseInterrupted(ctx)
		if err != nil {
			return fmt.Errorf("close the changes a killed agent left open in the ledger: %w", err)
		}
		for _, c := range closed {
			a.logger.Warn("change interrupted by a stop; the next reconcile carries on", "change", c.ID, "app", c.App, "cluster", c.Cluster, "commit", short(c.Revision.Commit))
		}
	}
	a.mu.Lock()
	a.runCtx = ctx
	a.pollers = startPollers(ctx, a, a.cfg)
	a.mu.Unlock()
	go a.memory.releaseWhenIdle(ctx)
	var workers sync.WaitGroup
	for range a.opts.Workers {
		workers.Go(func() {
			for a.next(work) {
			}
		})
	}
	a.logger.Info("agent started", "apps", len(a.cfg.Apps), "clusters", len(a.cfg.Clusters), "workers", a.opts.Workers)
	<-ctx.Done()
	a.stopping.Store(true) // from now on next takes nothing more off the queue
	// The pollers are stopped outside the lock: one that has fetched takes it to keep what it
	// fetched.
	a.mu.Lock()
	stopped := a.pollers
	a.pollers = nil
	a.mu.Unlock()
	stopped.stop()
	a.logger.Info("agent stopping: no new work; waiting for reconciles under way", "grace", a.opts.Grace.String())
	go a.queue.ShutDownWithDrain()
	drained := make(chan struct{})
	go func() { workers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(a.opts.Grace):
		a.logger.Warn("grace period over: cancelling the reconciles still under way")
		stopWork()
		<-drained
	}
	a.queue.ShutDown()
	a.health.stopAll()
	return nil
}

// next takes one pair off the queue and reconciles it; false once the queue is shut down or
// the agent is stopping (a pair taken then is marked done, not reconciled: the backlog does not
// run during the grace period, which is for the reconciles under way).
func (a *Agent) next(ctx context.Context) bool {
	key, shutdown := a.queue.Get()
	if shutdown {
		return false
	}
	if a.stopping.Load() {
		a.queue.Done(key)
		return false
	}
	defer a.queue.Done(key)
	defer a.memory.worked()
	if err := a.process(ctx, key); err != nil {
		a.queue.AddRateLimited(key)
		return true
	}
	a.queue.Forget(key)
	return true
}

// process reconciles one pair with its Source's latest revision (fetched first if there is
// none yet), or, for an App that does not sync on its own and that no one asked to sync,
// compares it with Git. The error says the pair should be tried again later.
func (a *Agent) process(ctx context.Context, key string) error {
	a.mu.Lock()
	pair, ok := a.pairs[key]
	request, asked := a.requests[key]
	delete(a.requests, key)
	cause := a.causes[key]
	delete(a.causes, key)
	a.mu.Unlock()
	if !ok {
		return nil // no longer configured
	}
	rev := a.revision(ctx, pair.App.Spec.Source)
	if rev.err != nil {
		a.setStatus(key, func(st *PairStatus) { st.failed(rev.err) })
		return rev.err
	}
	opts := request
	opts.Observer = a.opts.Observer
	if !asked {
		if cause.Trigger == "" { // the agent's start, a reload, a retry
			cause.Trigger = history.TriggerPoll
		}
		if cause.Actor == (history.Actor{}) {
			cause.Actor = history.Actor{Agent: true}
		}
		opts.Cause = cause
	}
	if !pair.App.Spec.Sync.Automated && !asked {
		opts.DryRun, opts.comparing = true, true
	}
	// A revision that fails health can only be rolled back once its health is known.
	opts.Wait = opts.Wait || pair.App.Spec.Health.AutoRollback
	a.mu.Lock()
	opts.Paused = a.pausedObjects(key)
	a.mu.Unlock()
	a.setBusy(key, true)
	started := time.Now()
	var result Result
	var wave waveNote
	if hasWaves(pair.App) && !opts.DryRun && a.syncer.Ledger != nil {
		result, wave = a.reconcileInWaves(ctx, pair, rev.checkout, opts)
	} else {
		result = a.syncer.Reconcile(ctx, pair, rev.checkout, opts)
	}
	deleted := a.setBusy(key, false)
	a.setStatus(key, func(st *PairStatus) {
		st.reconciled(result, opts.DryRun)
		st.LastStarted = started
		a.showFights(key, st) // a reconcile does not end a fight
		st.inWave(wave)
	})
	if result.Status == StatusSynced && !opts.DryRun {
		a.followHealth(ctx, key, pair, result)
	}
	if result.Status == StatusHeld || result.Status == StatusRefused || opts.DryRun {
		// Nothing recorded an inventory: watch the one the cluster holds (after a restart, an
		// App that only compares would not be watched otherwise).
		a.watchWhatIsThere(ctx, pair)
	}
	a.recheckDeleted(deleted, result)
	if result.Status == StatusHeld && result.Window != nil && !result.Window.Until.IsZero() {
		// Try again when the window lets it: nothing to retry before.
		a.queue.AddAfter(key, time.Until(result.Window.Until)+time.Second)
	}
	if result.Status == StatusFailed {
		a.mu.Lock()
		if _, queued := a.causes[key]; !queued && !asked {
			a.causes[key] = cause // the retry is the same change
		}
		a.mu.Unlock()
		return result.Err
	}
	return nil
}

// setBusy marks a pair as being reconciled, or no longer; then it returns the deletions of
// the pair's objects seen meanwhile (see recheckDeleted).
func (a *Agent) setBusy(key string, busy bool) (deleted []clusters.DriftEvent) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if busy {
		a.busy[key] = true
		return nil
	}
	delete(a.busy, key)
	deleted = a.drift.deletedWhileBusy[key]
	delete(a.drift.deletedWhileBusy, key)
	return deleted
}

// revision is the Source's latest revision, fetching it if none was fetched yet.
func (a *Agent) revision(ctx context.Context, source string) *fetched {
	a.mu.Lock()
	rev, ok := a.revisions[source]
	src := a.cfg.Source(source)
	a.mu.Unlock()
	if ok && rev.checkout != nil {
		return rev
	}
	if src == nil {
		return &fetched{err: fmt.Errorf("Source/%s is not defined", source)}
	}
	fetchCtx, cancel := context.WithTimeout(ctx, a.opts.FetchTimeout)
	defer cancel()
	rev = a.syncer.fetch(fetchCtx, src, Options{Observer: a.opts.Observer})
	a.setRevision(source, rev)
	return rev
}

// setRevision keeps a Source's latest fetch and says whether its commit changed. A failed
// fetch keeps the last good revision (what is applied stays as it is) and is kept as the
// Source's error, which the status of its pairs shows until a fetch succeeds.
func (a *Agent) setRevision(source string, rev *fetched) (changed bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if rev.err != nil {
		a.sourceErrors[source] = rev.err.Error()
		if a.revisions[source] == nil {
			a.revisions[source] = rev
		}
		return false
	}
	delete(a.sourceErrors, source)
	old := a.revisions[source]
	a.revisions[source] = rev
	return old == nil || old.checkout == nil || old.checkout.Fetched.Revision.Commit != rev.checkout.Fetched.Revision.Commit
}

// enqueueSource queues every pair whose App follows the Source, because of a poll or (when a
// webhook poked the Source) a webhook.
func (a *Agent) enqueueSource(source string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	trigger := history.TriggerPoll
	if a.pushed[source] {
		trigger = history.TriggerWebhook
	}
	delete(a.pushed, source)
	for key, pair := range a.pairs {
		if pair.App.Spec.Source == source {
			a.queueFor(key, Cause{Trigger: trigger})
		}
	}
}

// queueFor queues a pair with why (called with a.mu held). Causes of one queued pair merge: a
// new revision's trigger wins over drift, and the drift notes add up.
func (a *Agent) queueFor(key string, why Cause) {
	c := a.causes[key]
	if c.Trigger == "" || c.Trigger == history.TriggerDrift {
		c.Trigger = why.Trigger
	}
	c.Actor = why.Actor
	c.Drift = append(c.Drift, why.Drift...)
	if len(c.Drift) > maxDriftNotes {
		c.Drift = append(c.Drift[:maxDriftNotes-1], "…")
	}
	a.causes[key] = c
	a.queue.Add(key)
}

// maxDriftNotes bounds the drift notes one heal records.
const maxDriftNotes = 50

// RequestSync queues a sync of the App on one cluster (or every cluster it selects, when
// cluster is ""), with opts' ForceConflicts, ConfirmPrune and DryRun, recorded as a manual
// change by opts.Cause.Actor; it is applied even when
// the App does not sync on its own. It returns the clusters queued; an App or cluster the
// configuration does not have is an error.
func (a *Agent) RequestSync(app, cluster string, opts Options) ([]string, error) {
	pairs, err := a.pairsOf(app, cluster)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	queued := make([]string, 0, len(pairs))
	for _, pair := range pairs {
		key := pair.String()
		a.requests[key] = Options{ForceConflicts: opts.ForceConflicts, ConfirmPrune: opts.ConfirmPrune, DryRun: opts.DryRun,
			OverrideWindow: opts.OverrideWindow, Cause: Cause{Trigger: history.TriggerManual, Actor: opts.Cause.Actor}}
		a.queue.Add(key)
		queued = append(queued, pair.Cluster.Metadata.Name)
	}
	return queued, nil
}

// ErrNotConfigured: the App, cluster or Source asked for is not in the configuration.
var ErrNotConfigured = errors.New("not in the configuration")

// Refresh fetches the Source now instead of at its next poll; pairs follow if it changed.
func (a *Agent) Refresh(source string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cfg.Source(source) == nil {
		return fmt.Errorf("Source %q: %w", source, ErrNotConfigured)
	}
	a.pollers.poke(source)
	return nil
}

// Push queues a fetch of every Source a webhook push concerns (its repository and ref, see
// webhook.Push.Matches) and returns their names. Pushes that arrive while a Source's fetch is
// queued or under way come to one more fetch. What gets applied is what that fetch finds in
// Git, never what the payload says.
func (a *Agent) Push(push webhook.Push) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var matched []string
	for i := range a.cfg.Sources {
		src := &a.cfg.Sources[i]
		if push.Matches(src) {
			a.pushed[src.Metadata.Name] = true
			a.pollers.poke(src.Metadata.Name)
			matched = append(matched, src.Metadata.Name)
		}
	}
	return matched
}

// Config is the configuration the agent runs.
func (a *Agent) Config() *config.Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg
}
