package reconciler

import (
	"context"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// The agent's work comes in bursts (a first pass over every pair, a commit, a drift heal) and
// most of its life is idle. Go's runtime returns the memory a burst used to the OS only slowly,
// so an agent idle for minutes would keep the resident size of its last burst. Once a burst is
// over and the agent has been idle for idleBeforeRelease, it returns it at once.
const (
	idleBeforeRelease = 10 * time.Second
	releaseCheck      = 30 * time.Second
)

// idleMemory remembers when the agent last worked and last returned memory.
type idleMemory struct {
	lastWork    atomic.Int64 // unix nanoseconds
	lastRelease int64
}

// worked notes that a reconcile or fetch just ended.
func (m *idleMemory) worked() { m.lastWork.Store(time.Now().UnixNano()) }

// releaseWhenIdle returns memory to the OS after each burst of work, once the agent has been
// idle a while, until ctx ends.
func (m *idleMemory) releaseWhenIdle(ctx context.Context) {
	tick := time.NewTicker(releaseCheck)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			last := m.lastWork.Load()
			if last > m.lastRelease && now.Sub(time.Unix(0, last)) >= idleBeforeRelease {
				debug.FreeOSMemory()
				m.lastRelease = now.UnixNano()
			}
		}
	}
}
