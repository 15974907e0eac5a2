package reconciler

import (
	"math/rand/v2"
	"time"

	"k8s.io/client-go/util/workqueue"
)

// retryLimiter is client-go's exponential per-item backoff with ±20 % jitter, so that pairs
// failing together (a cluster down) do not retry in lockstep.
type retryLimiter struct {
	workqueue.TypedRateLimiter[string]
}

func newRetryLimiter(base, maxDelay time.Duration) workqueue.TypedRateLimiter[string] {
	return retryLimiter{workqueue.NewTypedItemExponentialFailureRateLimiter[string](base, maxDelay)}
}

// When is the exponential delay, jittered.
func (l retryLimiter) When(key string) time.Duration {
	d := l.TypedRateLimiter.When(key)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
