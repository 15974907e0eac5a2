package clusters

import (
	"sync"
	"sync/atomic"
)

// forEach calls fn(i) for i in 0…n-1 from at most parallelism goroutines, starting the calls in
// index order (so objects are sent in apply order: ConfigMaps and Secrets before the workloads
// that use them), and returns when every call has returned.
func forEach(n, parallelism int, fn func(i int)) {
	if parallelism <= 0 {
		parallelism = DefaultConcurrency
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, parallelism) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}
