package keylock

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

func TestMapSerialisesPerKey(t *testing.T) {
	var m Map
	var inside, maxInside atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			unlock := m.Lock("same")
			n := inside.Add(1)
			for {
				old := maxInside.Load()
				if n <= old || maxInside.CompareAndSwap(old, n) {
					break
				}
			}
			inside.Add(-1)
			unlock()
		})
	}
	wg.Wait()
	if maxInside.Load() != 1 {
		t.Errorf("%d holders of one key at once, want 1", maxInside.Load())
	}
	// Different keys do not wait for each other.
	unlockA := m.Lock("a")
	unlockB := m.Lock("b")
	unlockB()
	unlockA()
}

// TestLockContextGivesUp: a wait for a held key ends with its context, and keys nobody holds
// are forgotten.
func TestLockContextGivesUp(t *testing.T) {
	var m Map
	unlock := m.Lock("held")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.LockContext(ctx, "held"); !errors.Is(err, context.Canceled) {
		t.Fatalf("LockContext on a held key with a cancelled context: %v", err)
	}
	unlock()
	again, err := m.LockContext(context.Background(), "held")
	if err != nil {
		t.Fatal(err)
	}
	again()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.locks) != 0 {
		t.Errorf("%d keys remembered after every lock was released", len(m.locks))
	}
}
