package clusters

import (
	"context"
	"errors"
	"time"
)

// errDeadline is pollUntil's error when the deadline passed first.
var errDeadline = errors.New("deadline passed")

// pollUntil calls done now and then every interval until it reports true; it returns
// errDeadline once deadline has passed, or ctx's error when ctx ends first.
func pollUntil(ctx context.Context, deadline time.Time, interval time.Duration, done func() bool) error {
	for !done() {
		if time.Now().After(deadline) {
			return errDeadline
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
	return nil
}
