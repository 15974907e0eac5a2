package keylock

import (
	"context"
	"sync"
)

// Map holds one lock per key, made on first use and dropped when nobody holds or waits for
// it. The zero value is ready to use.
type Map struct {
	mu    sync.Mutex
	locks map[string]*entry
}

// entry is one key's lock: a channel of one slot, so that a wait can end with its context.
type entry struct {
	slot  chan struct{}
	users int // holders and waiters
}

// Lock locks key and returns its unlock function.
func (m *Map) Lock(key string) (unlock func()) {
	unlock, _ = m.LockContext(context.Background(), key)
	return unlock
}

// LockContext locks key, or gives up when ctx ends first (returning ctx's error).
func (m *Map) LockContext(ctx context.Context, key string) (unlock func(), err error) {
	m.mu.Lock()
	if m.locks == nil {
		m.locks = map[string]*entry{}
	}
	e, ok := m.locks[key]
	if !ok {
		e = &entry{slot: make(chan struct{}, 1)}
		m.locks[key] = e
	}
	e.users++
	m.mu.Unlock()
	select {
	case e.slot <- struct{}{}:
		return func() { <-e.slot; m.release(key, e) }, nil
	case <-ctx.Done():
		m.release(key, e)
		return nil, ctx.Err()
	}
}

// release forgets a key nobody uses any more.
func (m *Map) release(key string, e *entry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e.users--
	if e.users == 0 {
		delete(m.locks, key)
	}
}
