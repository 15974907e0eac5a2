package localfleet

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Network settings every local cluster shares. The Service range is configuration only: nothing
// ever sends traffic to it.
const (
	serviceClusterIPRange = "10.96.0.0/16"
	kubernetesServiceIP   = "10.96.0.1"
	serviceAccountIssuer  = "https://kubernetes.default.svc.cluster.local"
	portAttempts          = 3
)

// clusterSetup is what every cluster of a fleet is started with.
type clusterSetup struct {
	bins               *Binaries
	pki                *pki
	etcdURL            string
	istioCRDs          []*unstructured.Unstructured
	extraAPIServerArgs []string
	timeout            time.Duration
	out                io.Writer
}

// up brings the cluster to ready: it starts whichever of its processes do not run (all of them
// the first time), registers the fake node and the Istio CRDs unless they exist, and waits until
// all of it is ready. Data and port stay: see upAPIServer. It returns the names of the processes
// it started.
func (c *Cluster) up(ctx context.Context, s clusterSetup) ([]string, error) {
	began := time.Now()
	fresh := len(c.processes) == 0
	c.started = nil
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	apiStarted := c.running(apiServerName) == nil
	client, err := c.upAPIServer(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	if apiStarted {
		fmt.Fprintf(s.out, "%s: kube-apiserver ready at %s (%s)\n", c.Name, c.Server, time.Since(began).Round(100*time.Millisecond))
	}
	if err := c.startStopped(append(c.patientComponents(s), c.controllerManager(s))...); err != nil {
		return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	// Both are idempotent, and retried: the first requests after etcd restarted may fail.
	if err := retry(ctx, s.timeout, "fake node", c.processes, func(ctx context.Context) error { return createFakeNode(ctx, client) }); err != nil {
		return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	if err := retry(ctx, s.timeout, "Istio CRDs", c.processes, func(ctx context.Context) error { return installCRDs(ctx, c.Config, s.istioCRDs) }); err != nil {
		return nil, fmt.Errorf("cluster %s: install Istio CRDs: %w", c.Name, err)
	}
	check := newClusterReadiness(client, s.istioCRDs)
	if err := waitFor(ctx, s.timeout, "node, controllers and CRDs", c.processes, check.ready); err != nil {
		return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	took := time.Since(began).Round(100 * time.Millisecond)
	switch {
	case fresh:
		fmt.Fprintf(s.out, "%s: ready (%s)\n", c.Name, took)
	case len(c.started) > 0:
		fmt.Fprintf(s.out, "%s: restarted %s; ready (%s)\n", c.Name, strings.Join(c.started, ", "), took)
	}
	return c.started, nil
}

// apiServerName is the name of a cluster's API server process.
const apiServerName = "kube-apiserver"

// upAPIServer makes sure that kube-apiserver runs and answers /readyz, together with
// kube-scheduler and kwok, which wait for it (starting them with it saves time). A new
// kube-apiserver takes the cluster's port again; if another program took that port meanwhile,
// or on the first start, it takes a fresh one, and the cluster's other processes, which talk
// to the old port, start again too.
func (c *Cluster) upAPIServer(ctx context.Context, s clusterSetup) (*kubernetes.Clientset, error) {
	logPath := filepath.Join(c.dir, apiServerName+".log")
	port := c.port
	for attempt := 1; ; attempt++ {
		started := c.running(apiServerName) == nil
		if started {
			if err := c.startAPIServer(s, port); err != nil {
				return nil, err
			}
		}
		if err := c.startStopped(c.patientComponents(s)...); err != nil {
			return nil, err
		}
		client, err := kubernetes.NewForConfig(c.Config)
		if err != nil {
			return nil, fmt.Errorf("client for %s: %w", c.Server, err)
		}
		api := c.process(apiServerName)
		err = waitFor(ctx, s.timeout, "kube-apiserver /readyz", []*runningProcess{api}, func(ctx context.Context) (bool, error) {
			_, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
			return err == nil, nil
		})
		switch {
		case err == nil:
			return client, nil
		case attempt == portAttempts:
			return nil, err
		case !started && api.hasExited():
			continue // an old API server ended while we waited for it: start a new one
		case !strings.Contains(LogTail(logPath, 30), "address already in use"):
			return nil, err
		}
		c.stop()
		port = 0
	}
}

// startAPIServer starts kube-apiserver on port, or on a fresh port if port is 0, and writes the
// cluster's kubeconfigs. When the port changes, the cluster's other processes stop, to start
// again against the new one.
func (c *Cluster) startAPIServer(s clusterSetup, port int) error {
	if port == 0 {
		var err error
		if port, err = freePort(); err != nil {
			return err
		}
	}
	if c.port != 0 && port != c.port {
		c.stop()
	}
	if _, err := c.spawn(component{apiServerName, s.bins.APIServer, c.apiServerArgs(s, port)}); err != nil {
		return err
	}
	c.port = port
	c.Server = "https://127.0.0.1:" + strconv.Itoa(port)
	c.Config = restConfig(c.Server, s.pki)
	c.Kubeconfig = filepath.Join(c.dir, kubeconfigName)
	if err := writeKubeconfig(c.Kubeconfig, s.pki, adminToken, c); err != nil {
		return err
	}
	return writeKubeconfig(c.componentKubeconfig(), s.pki, adminCertificate, c)
}

func (c *Cluster) apiServerArgs(s clusterSetup, port int) []string {
	args := []string{
		"--etcd-servers=" + s.etcdURL,
		"--etcd-prefix=/" + c.Name,
		"--secure-port=" + strconv.Itoa(port),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--cert-dir=" + filepath.Join(c.dir, "certs"),
		"--tls-cert-file=" + s.pki.ServingCert,
		"--tls-private-key-file=" + s.pki.ServingKey,
		"--client-ca-file=" + s.pki.CACert,
		"--token-auth-file=" + s.pki.TokenFile,
		"--service-cluster-ip-range=" + serviceClusterIPRange,
		"--service-account-issuer=" + serviceAccountIssuer,
		"--service-account-key-file=" + s.pki.ServiceAccountPub,
		"--service-account-signing-key-file=" + s.pki.ServiceAccountKey,
		"--authorization-mode=RBAC",
		"--disable-admission-plugins=ServiceAccount",
		"--allow-privileged=true",
		"--endpoint-reconciler-type=none",
		"--profiling=false",
	}
	return append(args, s.extraAPIServerArgs...)
}

// component is a cluster process other than the API server.
type component struct {
	name, bin string
	args      []string
}

// controllerManager gives up if the API server is not healthy within 10 s of its start (a
// fixed timeout in kube-controller-manager), which a loaded machine can exceed: it starts once
// the API server is ready.
func (c *Cluster) controllerManager(s clusterSetup) component {
	return component{"kube-controller-manager", s.bins.ControllerManager, []string{
		"--kubeconfig=" + c.componentKubeconfig(),
		"--leader-elect=false",
		"--controllers=*,-serviceaccount-token",
		"--service-account-private-key-file=" + s.pki.ServiceAccountKey,
		"--root-ca-file=" + s.pki.CACert,
		"--use-service-account-credentials=false",
		"--cluster-name=" + c.Name,
		"--secure-port=0",
	}}
}

// nodeLeaseSeconds is the fake node's Lease duration; kwok renews it at a quarter of that.
const nodeLeaseSeconds = 40

// patientComponents wait for the API server however long it takes, so they start with it.
func (c *Cluster) patientComponents(s clusterSetup) []component {
	return []component{
		{"kube-scheduler", s.bins.Scheduler, []string{
			"--kubeconfig=" + c.componentKubeconfig(),
			"--leader-elect=false",
			"--secure-port=0",
		}},
		{"kwok", s.bins.Kwok, []string{
			"--kubeconfig=" + c.componentKubeconfig(),
			"--manage-all-nodes=false",
			"--manage-nodes-with-annotation-selector=" + kwokNodeAnnotation + "=fake",
			"--config=" + s.bins.KwokStages,
			"--server-address=",
			// Keep the node alive with a Lease renewed every few seconds. Without one, the node's
			// only heartbeat is a status update (stage node-heartbeat-with-lease: every 10 min),
			// the node controller marks it NotReady after 50 s, and every pod on it unready.
			fmt.Sprintf("--node-lease-duration-seconds=%d", nodeLeaseSeconds),
		}},
	}
}

// startStopped starts those of the components that do not run, each logging to its own file.
func (c *Cluster) startStopped(components ...component) error {
	for _, comp := range components {
		if c.running(comp.name) != nil {
			continue
		}
		if _, err := c.spawn(comp); err != nil {
			return err
		}
	}
	return nil
}

// spawn starts a process of the cluster in the place of the one of that name, if any.
func (c *Cluster) spawn(comp component) (*runningProcess, error) {
	p, err := spawn(comp.name, c.Name, filepath.Join(c.dir, comp.name+".log"), comp.bin, comp.args...)
	if err != nil {
		return nil, err
	}
	c.started = append(c.started, comp.name)
	for i, old := range c.processes {
		if old.Name == comp.name {
			c.processes[i] = p
			return p, nil
		}
	}
	c.processes = append(c.processes, p)
	return p, nil
}

// process returns the cluster's latest process of that name, running or not, or nil.
func (c *Cluster) process(name string) *runningProcess {
	for _, p := range c.processes {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// running returns the cluster's process of that name if it runs, else nil.
func (c *Cluster) running(name string) *runningProcess {
	if p := c.process(name); p != nil && !p.hasExited() {
		return p
	}
	return nil
}

// componentKubeconfig is the kubeconfig of the cluster's own components: the admin certificate.
func (c *Cluster) componentKubeconfig() string {
	return filepath.Join(c.dir, "components.kubeconfig")
}

// restConfig is a client configuration with the admin token.
func restConfig(server string, p *pki) *rest.Config {
	return &rest.Config{
		Host:            server,
		BearerToken:     p.adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: p.caPEM},
		QPS:             -1, // API Priority and Fairness protects the server; no client-side limit
		Timeout:         30 * time.Second,
	}
}

// freePort asks the kernel for a port that is free on 127.0.0.1 right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
