package reconciler

import (
	"context"
	"fmt"
	"time"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/internal/object"
)

// health waits, up to the App's health timeout, until the objects just applied are healthy,
// one is degraded, or the wait ends, and returns the App's status.
func (r *run) health(ctx context.Context, cluster *clusterState, applied clusters.ChangeSet) (Status, error) {
	timeout := healthTimeout(r.key.App)
	r.event(StageHealth, fmt.Sprintf("waiting until healthy (up to %s)", timeout))
	ids := make([]object.ID, 0, len(applied))
	versions := make(map[object.ID]string, len(applied))
	for _, c := range applied {
		ids = append(ids, c.ID)
		versions[c.ID] = c.Version
	}
	opts := clusters.DefaultWaitOptions()
	opts.Timeout = timeout
	opts.Report = func(health []clusters.ObjectHealth) {
		pending := 0
		for _, h := range health {
			if h.Status != clusters.HealthHealthy {
				pending++
			}
		}
		r.event(StageHealth, fmt.Sprintf("waiting for %d of %d objects to become healthy; %s", pending, len(health), firstUnhealthy(health)))
	}
	health, err := cluster.manager.WaitHealthy(ctx, ids, versions, opts)
	r.result.Health = health
	if err != nil {
		return StatusFailed, err
	}
	switch status, degraded := healthOf(health); status {
	case StatusDegraded:
		return status, fmt.Errorf("%s is degraded: %s", degraded.ID, degraded.Reason)
	case StatusProgressing:
		return status, fmt.Errorf("not healthy after %s: %s", timeout, firstUnhealthy(health))
	default:
		return status, nil
	}
}

// healthOf is what the objects' health makes of the App: Degraded when one is (the first, as
// well), Healthy when all are, Progressing otherwise.
func healthOf(health []clusters.ObjectHealth) (Status, clusters.ObjectHealth) {
	status := StatusHealthy
	for _, h := range health {
		switch h.Status {
		case clusters.HealthDegraded:
			return StatusDegraded, h
		case clusters.HealthHealthy:
		default:
			status = StatusProgressing
		}
	}
	return status, clusters.ObjectHealth{}
}

// healthTimeout is the App's spec.health.timeout, 5 minutes unless set.
func healthTimeout(app *config.App) time.Duration {
	if t := app.Spec.Health.Timeout.Duration; t > 0 {
		return t
	}
	return clusters.DefaultWaitOptions().Timeout
}

func firstUnhealthy(health []clusters.ObjectHealth) string {
	for _, h := range health {
		if h.Status != clusters.HealthHealthy {
			return fmt.Sprintf("%s is %s: %s", h.ID, h.Status, h.Reason)
		}
	}
	return ""
}
