package localfleet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// Status is what `flotilla fleet status` reports about a fleet folder.
type Status struct {
	Name       string          `json:"name"`
	Dir        string          `json:"dir"`
	Kubeconfig string          `json:"kubeconfig"`
	CreatedAt  time.Time       `json:"createdAt"`
	Running    bool            `json:"running"`
	HolderPID  int             `json:"holderPID"`
	Etcd       ProcessStatus   `json:"etcd"`
	Clusters   []ClusterStatus `json:"clusters"`
}

// ClusterStatus is one cluster's part of Status.
type ClusterStatus struct {
	Name      string          `json:"name"`
	Server    string          `json:"server"`
	Ready     bool            `json:"ready"`
	Reason    string          `json:"reason,omitempty"`
	Processes []ProcessStatus `json:"processes"`
}

// ProcessStatus says whether one recorded process still runs.
type ProcessStatus struct {
	Name    string `json:"name"`
	PID     int    `json:"pid"`
	Running bool   `json:"running"`
	Log     string `json:"log"`
}

// ReadStatus reports on the fleet in dir: whether its holder and processes run, and whether each
// API server answers /readyz. It returns ErrNoFleet if dir holds none.
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
		Name: s.Name, Dir: s.Dir, Kubeconfig: s.Kubeconfig, CreatedAt: s.CreatedAt,
		Running: s.Holder.isAlive(), HolderPID: s.Holder.PID, Etcd: processStatus(s.Etcd),
	}
	st.Clusters = make([]ClusterStatus, len(s.Clusters))
	var wg sync.WaitGroup
	for i, c := range s.Clusters {
		wg.Go(func() { st.Clusters[i] = clusterStatus(ctx, c, st.Etcd.Running) })
	}
	wg.Wait()
	return st, nil
}

func processStatus(p Process) ProcessStatus {
	return ProcessStatus{Name: p.Name, PID: p.PID, Running: p.isAlive(), Log: p.Log}
}

func clusterStatus(ctx context.Context, c clusterState, etcdRunning bool) ClusterStatus {
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
	case !etcdRunning:
		cs.Reason = "etcd is not running"
	case len(stopped) > 0:
		cs.Reason = fmt.Sprintf("not running: %v", stopped)
	default:
		if err := probeReadyz(ctx, c.Kubeconfig); err != nil {
			cs.Reason = err.Error()
		} else {
			cs.Ready = true
		}
	}
	return cs
}

func probeReadyz(ctx context.Context, kubeconfig string) error {
	config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	config.Timeout = 3 * time.Second
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return err
	}
	if _, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx); err != nil {
		return fmt.Errorf("/readyz: %w", err)
	}
	return nil
}

// Down stops the fleet in dir and removes the folder. The process holding the fleet (a
// `flotilla fleet up` supervisor, or a test binary) gets SIGTERM, then SIGKILL; its cluster
// processes die with it, and any recorded process still alive after that is killed too. Down
// returns ErrNoFleet if dir is not a fleet folder.
func Down(ctx context.Context, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if !isFleetDir(abs) {
		return fmt.Errorf("%s: %w", abs, ErrNoFleet)
	}
	s, err := readState(abs)
	if err != nil && !errors.Is(err, ErrNoFleet) {
		return err
	}
	if s != nil && s.Holder.PID == os.Getpid() {
		return fmt.Errorf("%s: the fleet is held by this process; stop it with Fleet.Stop", abs)
	}
	if s != nil {
		if err := s.Holder.kill(30 * time.Second); err != nil {
			return fmt.Errorf("stop fleet holder: %w", err)
		}
	}
	// A holder that was still starting the fleet has written no state yet: wait for its lock.
	lock, err := lockFile(ctx, filepath.Join(abs, lockFileName), func() {})
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if s != nil {
		var errs []error
		for _, p := range s.processes() {
			errs = append(errs, p.kill(10*time.Second))
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
	}
	return removeDir(abs)
}

// DefaultDir is the fleet folder used when none is given: flotilla/fleet under the user's state
// directory ($XDG_STATE_HOME, else ~/.local/state).
func DefaultDir() (string, error) {
	if base := os.Getenv("XDG_STATE_HOME"); base != "" {
		return filepath.Join(base, "flotilla", "fleet"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the home directory for the default fleet folder: %w", err)
	}
	return filepath.Join(home, ".local", "state", "flotilla", "fleet"), nil
}
