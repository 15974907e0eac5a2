package localfleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
)

// Fleet is a set of running local clusters that share one etcd. The process that started it
// holds it: when that process exits, for whatever reason, the kernel ends every cluster process.
type Fleet struct {
	// Name is the prefix of the cluster names.
	Name string
	// Dir is the fleet's folder.
	Dir string
	// Kubeconfig is a kubeconfig file with one context per cluster, named like the cluster.
	Kubeconfig string
	// Clusters are the clusters, in name order.
	Clusters []*Cluster

	createdAt            time.Time
	istio                bool
	setup                clusterSetup // its out is set per call
	etcd                 *runningProcess
	etcdURL, etcdPeerURL string
	services             []serviceState
	lock                 *fileLock
	ownsDir              bool
	// mu serializes RestartStopped, Stop and the recording of services.
	mu      sync.Mutex
	stopped bool
	stopErr error
}

// Cluster is one running local cluster.
type Cluster struct {
	// Name is the cluster's name and its context in the fleet's kubeconfig.
	Name string
	// Server is the API server's URL.
	Server string
	// Kubeconfig is a kubeconfig file for this cluster alone.
	Kubeconfig string
	// Config is a client configuration with cluster-admin rights and no client-side rate limit.
	Config *rest.Config

	dir       string
	port      int
	processes []*runningProcess
	started   []string // the processes the last call of up started
}

// Start starts opts.Clusters clusters and returns once every one is ready: its API server
// answers /readyz, its fake node is Ready, the controller manager has created the default
// ServiceAccount and, with opts.Istio, the Istio CRDs are established. With opts.Resume, it
// starts the fleet that opts.Dir holds again instead, with its data, certificates and ports. If
// anything fails or ctx ends first, Start stops whatever it started and returns an error naming
// the process that failed with the tail of its log.
func Start(ctx context.Context, opts Options) (*Fleet, error) {
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = DefaultOptions().ReadyTimeout
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	started := time.Now()
	out := &syncWriter{w: progressWriter(opts.Progress)}
	f := &Fleet{Name: opts.NamePrefix, istio: opts.Istio, createdAt: time.Now().UTC()}
	prev, err := f.claim(opts)
	if err != nil {
		return nil, err
	}
	bins, err := EnsureBinaries(ctx, BuildOptions{CacheDir: opts.CacheDir, Progress: out})
	if err != nil {
		f.release()
		return nil, err
	}
	if err := f.start(ctx, opts, bins, prev, out); err != nil {
		if prev != nil {
			f.abandon() // keep what is there, for another attempt to resume
		} else {
			f.Stop()
		}
		return nil, err
	}
	fmt.Fprintf(out, "fleet ready: %d cluster(s) in %s\n", len(f.Clusters), time.Since(started).Round(100*time.Millisecond))
	return f, nil
}

// claim takes the fleet folder and its lock. It returns the state of the fleet to resume, if
// opts.Resume and the folder holds one; otherwise it clears what a dead fleet left behind.
func (f *Fleet) claim(opts Options) (*state, error) {
	dir := opts.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "flotilla-fleet-")
		if err != nil {
			return nil, fmt.Errorf("create temporary fleet folder: %w", err)
		}
		dir, f.ownsDir = tmp, true
	}
	abs, err := ClaimDir(dir)
	if err != nil {
		return nil, err
	}
	f.Dir = abs
	lock, err := tryLockFile(filepath.Join(abs, lockFileName))
	if errors.Is(err, errLockHeld) {
		return nil, fmt.Errorf("%s: %w; stop it with `flotilla fleet down --dir %s` or choose another --dir", abs, ErrFleetRunning, abs)
	}
	if err != nil {
		return nil, err
	}
	f.lock = lock
	var prev *state
	if opts.Resume {
		if prev, err = resumable(abs, opts); err != nil {
			f.release()
			return nil, err
		}
	}
	// Record the holder at once, so that `fleet down` can stop a fleet that is still starting.
	record := &state{Name: f.Name, Dir: abs, CreatedAt: f.createdAt, Istio: f.istio}
	if prev != nil {
		f.createdAt = prev.CreatedAt
		record = prev
	} else if err := clearDir(abs); err != nil { // a fleet whose holder died: its processes died with it
		f.release()
		return nil, err
	}
	record.Holder = holderProcess()
	if err := writeState(abs, record); err != nil {
		f.release()
		return nil, err
	}
	return prev, nil
}

// holderProcess is this process, as the holder of a fleet.
func holderProcess() Process {
	holder := Process{Name: "holder", PID: os.Getpid()}
	holder.StartTime, _ = processStartTime(holder.PID)
	return holder
}

// start starts a new fleet, or resumes prev: its certificates, its etcd data and its ports.
func (f *Fleet) start(ctx context.Context, opts Options, bins *Binaries, prev *state, out io.Writer) error {
	pkiDir := filepath.Join(f.Dir, "pki")
	var p *pki
	var err error
	if prev != nil {
		fmt.Fprintf(out, "resuming the fleet in %s with its data, certificates and ports\n", f.Dir)
		p, err = loadPKI(pkiDir)
	} else {
		p, err = newPKI(pkiDir)
	}
	if err != nil {
		return err
	}
	var istioCRDs []*unstructured.Unstructured
	if opts.Istio {
		manifests, err := os.ReadFile(bins.IstioCRDs)
		if err != nil {
			return fmt.Errorf("read Istio CRDs: %w", err)
		}
		if istioCRDs, err = parseCRDs(manifests); err != nil {
			return fmt.Errorf("%s: %w", bins.IstioCRDs, err)
		}
	}
	f.setup = clusterSetup{bins: bins, pki: p, istioCRDs: istioCRDs, extraAPIServerArgs: opts.ExtraAPIServerArgs, timeout: opts.ReadyTimeout}
	f.Clusters = make([]*Cluster, opts.Clusters)
	for i := range f.Clusters {
		name := opts.clusterName(i + 1)
		f.Clusters[i] = &Cluster{Name: name, dir: filepath.Join(f.Dir, "clusters", name)}
		if prev != nil {
			c := prev.Clusters[i]
			f.Clusters[i].port, f.Clusters[i].Server, f.Clusters[i].Kubeconfig = urlPort(c.Server), c.Server, c.Kubeconfig
		}
	}
	if prev != nil {
		f.etcdURL, f.etcdPeerURL = prev.EtcdURL, prev.EtcdPeerURL
	}
	_, err = f.up(ctx, out)
	return err
}

// up starts whatever part of the fleet does not run, etcd first, then the clusters side by
// side, and returns once every cluster is ready. It writes the fleet's kubeconfig and state,
// and returns the parts it started: "etcd" and "CLUSTER/PROCESS".
func (f *Fleet) up(ctx context.Context, out io.Writer) ([]string, error) {
	var started []string
	etcdStarted, err := f.upEtcd(ctx, out)
	if err != nil {
		return nil, err
	}
	if etcdStarted {
		started = append(started, etcdName)
	}
	setup := f.setup
	setup.out = out
	errs := make([]error, len(f.Clusters))
	perCluster := make([][]string, len(f.Clusters))
	var wg sync.WaitGroup
	for i, c := range f.Clusters {
		wg.Go(func() { perCluster[i], errs[i] = c.up(ctx, setup) })
	}
	wg.Wait()
	for i, c := range f.Clusters {
		for _, name := range perCluster[i] {
			started = append(started, c.Name+"/"+name)
		}
	}
	// Record what runs now even if a cluster failed, so that status and down find it.
	f.Kubeconfig = filepath.Join(f.Dir, kubeconfigName)
	errs = append(errs, writeKubeconfig(f.Kubeconfig, setup.pki, adminToken, f.Clusters...), writeState(f.Dir, f.state()))
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return started, nil
}

func (f *Fleet) state() *state {
	s := &state{
		Name: f.Name, Dir: f.Dir, Kubeconfig: f.Kubeconfig, CreatedAt: f.createdAt, Istio: f.istio,
		Holder: holderProcess(), Etcd: f.etcd.Process, EtcdURL: f.etcdURL, EtcdPeerURL: f.etcdPeerURL,
		Services: f.services,
	}
	for _, c := range f.Clusters {
		cs := clusterState{Name: c.Name, Server: c.Server, Kubeconfig: c.Kubeconfig}
		for _, p := range c.processes {
			cs.Processes = append(cs.Processes, p.Process)
		}
		s.Clusters = append(s.Clusters, cs)
	}
	return s
}

// Stop ends every process of the fleet and waits until they are gone. It removes the folder if
// Start created it as a temporary one; otherwise it keeps the data and logs and removes the
// fleet's state, so that the folder holds no fleet any more. Stop is safe to call more than once.
func (f *Fleet) Stop() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return f.stopErr
	}
	f.stopped = true
	f.stopProcesses()
	if f.ownsDir {
		f.stopErr = os.RemoveAll(f.Dir)
	} else if f.Dir != "" {
		f.stopErr = os.Remove(filepath.Join(f.Dir, stateFileName))
		if errors.Is(f.stopErr, os.ErrNotExist) {
			f.stopErr = nil
		}
	}
	f.release()
	return f.stopErr
}

// abandon ends the processes of a fleet that failed to resume, and keeps its state and data.
func (f *Fleet) abandon() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = true
	f.stopProcesses()
	f.release()
}

func (f *Fleet) stopProcesses() {
	var wg sync.WaitGroup
	for _, c := range f.Clusters {
		wg.Go(c.stop)
	}
	wg.Wait()
	if f.etcd != nil {
		f.etcd.stop()
	}
}

func (f *Fleet) release() {
	f.lock.Unlock()
	f.lock = nil
}

// stop ends the cluster's processes, all at once: the data survives a SIGKILL.
func (c *Cluster) stop() {
	var wg sync.WaitGroup
	for _, p := range c.processes {
		wg.Go(p.stop)
	}
	wg.Wait()
}

// StopAPIServer stops the cluster's kube-apiserver, as a cluster outage would; the other
// processes keep running. Tests use it to prove that the rest of a fleet syncs without it;
// Fleet.RestartStopped starts it again.
func (c *Cluster) StopAPIServer() {
	if p := c.running(apiServerName); p != nil {
		p.stop()
	}
}

// syncWriter serializes writes from the goroutines that start clusters side by side.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
