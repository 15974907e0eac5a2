package localfleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// RestartStopped brings a fleet with stopped parts back: it starts again whatever has exited
// (etcd, or a cluster's kube-apiserver, kube-controller-manager, kube-scheduler or kwok, after
// a crash, an OOM kill or a user's kill) and an API server that is shutting down, and returns
// once every cluster is ready, as Start does. Data, certificates and ports stay: a restarted
// process takes its old port again unless another program took it meanwhile (the kubeconfigs
// then point at the new one). It returns the parts it restarted, as "etcd" or
// "CLUSTER/PROCESS", none if the fleet was whole; progress lines go to progress.
func (f *Fleet) RestartStopped(ctx context.Context, progress io.Writer) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return nil, errors.New("the fleet is stopped")
	}
	out := &syncWriter{w: progressWriter(progress)}
	f.stopGoingAway(ctx, out)
	return f.up(ctx, out)
}

// stopGoingAway stops the API servers that still run but will not serve again, so that up
// starts them anew: waiting for such a kube-apiserver to exit by itself takes up to a minute.
func (f *Fleet) stopGoingAway(ctx context.Context, out io.Writer) {
	var wg sync.WaitGroup
	for _, c := range f.Clusters {
		api := c.running(apiServerName)
		if api == nil || c.Config == nil {
			continue
		}
		wg.Go(func() {
			if h := probeAPIServer(ctx, c.Config); h.goingAway {
				fmt.Fprintf(out, "%s: %s; stopping it (pid %d) to start it again\n", c.Name, h.reason, api.PID)
				api.stop()
			}
		})
	}
	wg.Wait()
}

// Service is something that runs beside a fleet, in the process holding it, such as the
// quickstart's Git server. `flotilla fleet status` lists it and reports it ready while it
// answers HTTP.
type Service struct {
	// Name is how status lists it.
	Name string
	// URL is where it answers, on 127.0.0.1.
	URL string
	// Stop stops it.
	Stop func()
}

// addService records a service in the fleet's state.
func (f *Fleet) addService(s Service) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.services = append(f.services, serviceState{Name: s.Name, URL: s.URL})
	return writeState(f.Dir, f.state())
}
