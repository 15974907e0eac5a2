package keylock

import (
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
