package reconciler

import (
	"context"
	"sync"
	"time"

	"github.com/flotilla-dev/flotilla/config"
)

// defaultInterval is a Source's poll interval when it sets none (config's default).
const defaultInterval = time.Minute

// pollers poll the configuration's Sources, one goroutine each.
type pollers struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	pokes  map[string]chan struct{}
}

// startPollers polls each Source of cfg on its spec.interval until ctx ends or stop: a fetch
// that finds a new commit queues the Source's pairs. The first poll of each Source is at once.
func startPollers(ctx context.Context, a *Agent, cfg *config.Config) *pollers {
	ctx, cancel := context.WithCancel(ctx)
	p := &pollers{cancel: cancel, pokes: map[string]chan struct{}{}}
	for i := range cfg.Sources {
		src := &cfg.Sources[i]
		poke := make(chan struct{}, 1)
		p.pokes[src.Metadata.Name] = poke
		interval := src.Spec.Interval.Duration
		if interval <= 0 {
			interval = defaultInterval
		}
		p.wg.Go(func() { a.poll(ctx, src, interval, poke) })
	}
	return p
}

// poke asks for a poll of the Source now.
func (p *pollers) poke(source string) {
	if p == nil {
		return
	}
	select {
	case p.pokes[source] <- struct{}{}:
	default: // one is pending already
	}
}

// stop ends the polls and waits for them: never with the agent's lock held, which a poller
// that has fetched takes (setRevision, enqueueSource).
func (p *pollers) stop() {
	if p == nil {
		return
	}
	p.cancel()
	p.wg.Wait()
}

// poll fetches the Source now, then every interval or when poked, until ctx ends.
func (a *Agent) poll(ctx context.Context, src *config.Source, interval time.Duration, poke <-chan struct{}) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-poke:
			timer.Stop()
		}
		started := time.Now()
		fetchCtx, cancel := context.WithTimeout(ctx, a.opts.FetchTimeout)
		rev := a.syncer.fetch(fetchCtx, src, Options{Observer: a.opts.Observer})
		cancel()
		if ctx.Err() != nil {
			return
		}
		name := src.Metadata.Name
		if a.opts.OnFetch != nil {
			a.opts.OnFetch(name, time.Since(started), rev.err)
		}
		if a.setRevision(name, rev) {
			a.logger.Info("new revision", "source", name, "commit", rev.checkout.Fetched.Revision.ShortCommit(), "took", time.Since(started).Round(time.Millisecond).String())
			a.enqueueSource(name)
		} else if rev.err != nil {
			a.logger.Warn("fetch failed; the last revision stays applied", "source", name, "error", rev.err)
		}
		timer.Reset(interval)
	}
}
