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

	etcd     *runningProcess
	lock     *fileLock
	ownsDir  bool
	stopOnce sync.Once
	stopErr  error
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
	processes []*runningProcess
}

// Start starts opts.Clusters clusters and returns once every one is ready: its API server
// answers /readyz, its fake node is Ready, the controller manager has created the default
// ServiceAccount and, with opts.Istio, the Istio CRDs are established. If anything fails or ctx
// ends first, Start stops whatever it started and returns an error naming the process that
// failed with the tail of its log.
func Start(ctx context.Context, opts Options) (*Fleet, error) {
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = DefaultOptions().ReadyTimeout
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	started := time.Now()
	out := progressWriter(opts.Progress)
	f := &Fleet{Name: opts.NamePrefix}
	if err := f.claim(opts.Dir); err != nil {
		return nil, err
	}
	bins, err := EnsureBinaries(ctx, BuildOptions{CacheDir: opts.CacheDir, Progress: out})
	if err != nil {
		f.release()
		return nil, err
	}
	if err := f.start(ctx, opts, bins, out); err != nil {
		f.Stop()
		return nil, err
	}
	fmt.Fprintf(out, "fleet ready: %d cluster(s) in %s\n", len(f.Clusters), time.Since(started).Round(100*time.Millisecond))
	return f, nil
}

// claim takes the fleet folder and its lock, clearing what a dead fleet left behind.
func (f *Fleet) claim(dir string) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "flotilla-fleet-")
		if err != nil {
			return fmt.Errorf("create temporary fleet folder: %w", err)
		}
		dir, f.ownsDir = tmp, true
	}
	abs, err := ClaimDir(dir)
	if err != nil {
		return err
	}
	f.Dir = abs
	lock, err := tryLockFile(filepath.Join(abs, lockFileName))
	if errors.Is(err, errLockHeld) {
		return fmt.Errorf("%s: %w; stop it with `flotilla fleet down --dir %s` or choose another --dir", abs, ErrFleetRunning, abs)
	}
	if err != nil {
		return err
	}
	f.lock = lock
	if err := clearDir(abs); err != nil { // a fleet whose holder died: its processes died with it
		f.release()
		return err
	}
	// Record the holder at once, so that `fleet down` can stop a fleet that is still starting.
	if err := writeState(abs, &state{Name: f.Name, Dir: abs, CreatedAt: time.Now().UTC(), Holder: holderProcess()}); err != nil {
		f.release()
		return err
	}
	return nil
}

// holderProcess is this process, as the holder of a fleet.
func holderProcess() Process {
	holder := Process{Name: "holder", PID: os.Getpid()}
	holder.StartTime, _ = processStartTime(holder.PID)
	return holder
}

func (f *Fleet) start(ctx context.Context, opts Options, bins *Binaries, out io.Writer) error {
	p, err := newPKI(filepath.Join(f.Dir, "pki"))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "starting etcd\n")
	var etcdURL string
	if f.etcd, etcdURL, err = startEtcd(ctx, f.Dir, bins.Etcd); err != nil {
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
	f.Clusters = make([]*Cluster, opts.Clusters)
	for i := range f.Clusters {
		name := opts.clusterName(i + 1)
		f.Clusters[i] = &Cluster{Name: name, dir: filepath.Join(f.Dir, "clusters", name)}
	}
	errs := make([]error, len(f.Clusters))
	var wg sync.WaitGroup
	for i, c := range f.Clusters {
		wg.Go(func() {
			errs[i] = c.start(ctx, clusterSetup{
				bins: bins, pki: p, etcdURL: etcdURL, istioCRDs: istioCRDs,
				extraAPIServerArgs: opts.ExtraAPIServerArgs, timeout: opts.ReadyTimeout, out: out,
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	f.Kubeconfig = filepath.Join(f.Dir, kubeconfigName)
	if err := writeKubeconfig(f.Kubeconfig, p, adminToken, f.Clusters...); err != nil {
		return err
	}
	return writeState(f.Dir, f.state(opts.Istio))
}

func (f *Fleet) state(istio bool) *state {
	s := &state{
		Name: f.Name, Dir: f.Dir, Kubeconfig: f.Kubeconfig, CreatedAt: time.Now().UTC(),
		Istio: istio, Holder: holderProcess(), Etcd: f.etcd.Process,
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
// Start created it as a temporary one; otherwise it keeps the logs and removes the rest. Stop is
// safe to call more than once.
func (f *Fleet) Stop() error {
	f.stopOnce.Do(func() {
		var wg sync.WaitGroup
		for _, c := range f.Clusters {
			wg.Go(c.stop)
		}
		wg.Wait()
		if f.etcd != nil {
			f.etcd.stop()
		}
		if f.ownsDir {
			f.stopErr = os.RemoveAll(f.Dir)
		} else if f.Dir != "" {
			f.stopErr = os.Remove(filepath.Join(f.Dir, stateFileName))
			if errors.Is(f.stopErr, os.ErrNotExist) {
				f.stopErr = nil
			}
		}
		f.release()
	})
	return f.stopErr
}

func (f *Fleet) release() {
	f.lock.Unlock()
	f.lock = nil
}

// stop ends the cluster's processes, all at once: the data is disposable.
func (c *Cluster) stop() {
	var wg sync.WaitGroup
	for _, p := range c.processes {
		wg.Go(p.stop)
	}
	wg.Wait()
}

// StopAPIServer stops the cluster's kube-apiserver, as a cluster outage would; the other
// processes keep running. Tests use it to prove that the rest of a fleet syncs without it.
func (c *Cluster) StopAPIServer() {
	for _, p := range c.processes {
		if p.Name == "kube-apiserver" {
			p.stop()
		}
	}
}
