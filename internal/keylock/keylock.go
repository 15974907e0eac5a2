package keylock

import "sync"

// Map holds one mutex per key. The zero value is ready to use.
type Map struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// Lock locks key's mutex and returns its unlock function.
func (m *Map) Lock(key string) (unlock func()) {
	m.mu.Lock()
	if m.locks == nil {
		m.locks = map[string]*sync.Mutex{}
	}
	l, ok := m.locks[key]
	if !ok {
		l = &sync.Mutex{}
		m.locks[key] = l
	}
	m.mu.Unlock()
	l.Lock()
	return l.Unlock
}
