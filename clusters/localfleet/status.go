package localfleet

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/flotilla-dev/flotilla/internal/statedir"
)

// Status is what `flotilla fleet status` reports about a fleet folder.
type Status struct {
	Name       string    `json:"name"`
	Dir        string    `json:"dir"`
	Kubeconfig string    `json:"kubeconfig"`
	CreatedAt  time.Time `json:"createdAt"`
	Istio      bool      `json:"istio"`
	// Running says whether the process holding the fleet runs; when it is gone, so are the
	// fleet's processes, and Options.Resume starts the fleet again.
	Running   bool            `json:"running"`
	HolderPID int             `json:"holderPID"`
	Etcd      EtcdStatus      `json:"etcd"`
	Clusters  []ClusterStatus `json:"clusters"`
	// Services are what the holder runs beside the fleet, such as the quickstart's Git server.
	Services []ServiceStatus `json:"services,omitempty"`
}

// EtcdStatus is the fleet's etcd: whether it runs and answers /health.
type EtcdStatus struct {
	URL     string        `json:"url"`
	Ready   bool          `json:"ready"`
	Reason  string        `json:"reason,omitempty"`
	Process ProcessStatus `json:"process"`
}

// ClusterStatus is one cluster's part of Status. Ready means that all its processes run and
// its API server answers /readyz.
type ClusterStatus struct {
	Name      string          `json:"name"`
	Server    string          `json:"server"`
	Ready     bool            `json:"ready"`
	Reason    string          `json:"reason,omitempty"`
	Processes []ProcessStatus `json:"processes"`
}

// ServiceStatus is a service that runs beside the fleet; see Service.
type ServiceStatus struct {
	Name   string `json:"name"`
	URL    string `json:"url"`
	Ready  bool   `json:"ready"`
	Reason string `json:"reason,omitempty"`
}

// ProcessStatus says whether one recorded process still runs.
type ProcessStatus struct {
	Name    string `json:"name"`
	PID     int    `json:"pid"`
	Running bool   `json:"running"`
	Log     string `json:"log"`
}

// NotReady names the parts of the fleet that are not ready: "etcd", clusters and services; nil
// when the whole fleet is. A fleet whose holder is gone, or that has no clusters yet, is not
// ready as a whole ("fleet").
func (s *Status) NotReady() []string {
	var parts []string
	if !s.Running || len(s.Clusters) == 0 {
		parts = append(parts, "fleet")
	}
	if !s.Etcd.Ready {
		parts = append(parts, "etcd")
	}
	for _, c := range s.Clusters {
		if !c.Ready {
			parts = append(parts, c.Name)
		}
	}
	for _, svc := range s.Services {
		if !svc.Ready {
			parts = append(parts, svc.Name)
		}
	}
	return parts
}

// ReadStatus reports on the fleet in dir: whether its holder and processes run, whether etcd
// answers /health, each API server /readyz and each service HTTP. It returns ErrNoFleet if dir
// holds none.
func ReadStatus(ctx context.Context, dir string) (*Status, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	s, err := readState(abs)
	if err != nil {
		return nil, err
	}
	st := &Status{
		Name: s.Name, Dir: s.Dir, Kubeconfig: s.Kubeconfig, CreatedAt: s.CreatedAt, Istio: s.Istio,
		Running: s.Holder.isAlive(), HolderPID: s.Holder.PID, Etcd: etcdStatus(ctx, s),
	}
	st.Clusters = make([]ClusterStatus, len(s.Clusters))
	st.Services = make([]ServiceStatus, len(s.Services))
	var wg sync.WaitGroup
	for i, c := range s.Clusters {
		wg.Go(func() { st.Clusters[i] = clusterStatus(ctx, c, st.Etcd) })
	}
	for i, svc := range s.Services {
		wg.Go(func() { st.Services[i] = serviceStatus(ctx, svc, st.Running) })
	}
	wg.Wait()
	return st, nil
}

func processStatus(p Process) ProcessStatus {
	return ProcessStatus{Name: p.Name, PID: p.PID, Running: p.isAlive(), Log: p.Log}
}

func etcdStatus(ctx context.Context, s *state) EtcdStatus {
	st := EtcdStatus{URL: s.EtcdURL, Process: processStatus(s.Etcd)}
	switch {
	case s.Etcd.PID == 0:
		st.Reason = "not started yet"
	case !st.Process.Running:
		st.Reason = "stopped"
	case s.EtcdURL == "":
		st.Ready = true // a fleet from before etcd's URL was recorded: its process runs
	default:
		if err := etcdHealth(ctx, s.EtcdURL); err != nil {
			st.Reason = err.Error()
		} else {
			st.Ready = true
		}
	}
	return st
}

func clusterStatus(ctx context.Context, c clusterState, etcd EtcdStatus) ClusterStatus {
	cs := ClusterStatus{Name: c.Name, Server: c.Server}
	var stopped []string
	for _, p := range c.Processes {
		ps := processStatus(p)
		cs.Processes = append(cs.Processes, ps)
		if !ps.Running {
			stopped = append(stopped, p.Name)
		}
	}
	switch {
	case len(stopped) > 0:
		cs.Reason = "stopped: " + strings.Join(stopped, ", ")
	case !etcd.Ready:
		cs.Reason = "etcd is not ready"
	default:
		if h := probeKubeconfig(ctx, c.Kubeconfig); h.ready {
			cs.Ready = true
		} else {
			cs.Reason = h.reason
		}
	}
	return cs
}

func probeKubeconfig(ctx context.Context, kubeconfig string) apiHealth {
	config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return apiHealth{reason: fmt.Sprintf("load kubeconfig: %v", err)}
	}
	return probeAPIServer(ctx, config)
}

func serviceStatus(ctx context.Context, svc serviceState, holderRunning bool) ServiceStatus {
	st := ServiceStatus{Name: svc.Name, URL: svc.URL}
	if !holderRunning {
		st.Reason = "stopped with the fleet's holder"
	} else if err := probeService(ctx, svc.URL); err != nil {
		st.Reason = err.Error()
	} else {
		st.Ready = true
	}
	return st
}

// DefaultDir is the fleet folder used when none is given: flotilla/fleet under the user's state
// directory ($XDG_STATE_HOME, else ~/.local/state).
func DefaultDir() (string, error) {
	return statedir.Path("fleet")
}
