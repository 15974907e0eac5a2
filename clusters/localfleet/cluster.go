package localfleet

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
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

// start brings up one cluster: its processes, then a fake node and the Istio CRDs, and waits
// until all of it is ready.
func (c *Cluster) start(ctx context.Context, s clusterSetup) error {
	started := time.Now()
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	client, err := c.startProcesses(ctx, s)
	if err != nil {
		return fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	fmt.Fprintf(s.out, "%s: kube-apiserver ready at %s (%s)\n", c.Name, c.Server, time.Since(started).Round(100*time.Millisecond))
	if err := c.startComponents(c.controllerManager(s)); err != nil {
		return fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	if err := createFakeNode(ctx, client); err != nil {
		return fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	if err := installCRDs(ctx, c.Config, s.istioCRDs); err != nil {
		return fmt.Errorf("cluster %s: install Istio CRDs: %w", c.Name, err)
	}
	check := newClusterReadiness(client, s.istioCRDs)
	if err := waitFor(ctx, s.timeout, "node, controllers and CRDs", c.processes, check.ready); err != nil {
		return fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	fmt.Fprintf(s.out, "%s: ready (%s)\n", c.Name, time.Since(started).Round(100*time.Millisecond))
	return nil
}

// startProcesses starts kube-apiserver on a fresh port together with kube-scheduler and kwok,
// which wait for it (starting them at once saves time), and returns once the API server is
// ready. If the port was taken between picking and binding it, it starts
// over on another.
func (c *Cluster) startProcesses(ctx context.Context, s clusterSetup) (*kubernetes.Clientset, error) {
	logPath := filepath.Join(c.dir, "kube-apiserver.log")
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
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
		args = append(args, s.extraAPIServerArgs...)
		p, err := spawn("kube-apiserver", c.Name, logPath, s.bins.APIServer, args...)
		if err != nil {
			return nil, err
		}
		c.processes = append(c.processes, p)
		c.Server = "https://127.0.0.1:" + strconv.Itoa(port)
		c.Config = restConfig(c.Server, s.pki)
		c.Kubeconfig = filepath.Join(c.dir, kubeconfigName)
		if err := writeKubeconfig(c.Kubeconfig, s.pki, adminToken, c); err != nil {
			return nil, err
		}
		if err := writeKubeconfig(c.componentKubeconfig(), s.pki, adminCertificate, c); err != nil {
			return nil, err
		}
		if err := c.startComponents(c.patientComponents(s)...); err != nil {
			return nil, err
		}
		client, err := kubernetes.NewForConfig(c.Config)
		if err != nil {
			return nil, fmt.Errorf("client for %s: %w", c.Server, err)
		}
		err = waitFor(ctx, s.timeout, "kube-apiserver /readyz", c.processes, func(ctx context.Context) (bool, error) {
			_, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
			return err == nil, nil
		})
		if err == nil {
			return client, nil
		}
		if attempt == portAttempts || !strings.Contains(LogTail(logPath, 30), "address already in use") {
			return nil, err
		}
		c.stop()
		c.processes = c.processes[:0]
	}
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

// startComponents starts processes against the cluster, each logging to its own file.
func (c *Cluster) startComponents(components ...component) error {
	for _, comp := range components {
		p, err := spawn(comp.name, c.Name, filepath.Join(c.dir, comp.name+".log"), comp.bin, comp.args...)
		if err != nil {
			return err
		}
		c.processes = append(c.processes, p)
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

// startEtcd starts the fleet's etcd on fresh ports and waits until it is healthy. It returns the
// client URL.
func startEtcd(ctx context.Context, dir, bin string) (*runningProcess, string, error) {
	logPath := filepath.Join(dir, "etcd.log")
	for attempt := 1; ; attempt++ {
		clientPort, err := freePort()
		if err != nil {
			return nil, "", err
		}
		peerPort, err := freePort()
		if err != nil {
			return nil, "", err
		}
		clientURL := "http://127.0.0.1:" + strconv.Itoa(clientPort)
		peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
		p, err := spawn("etcd", "", logPath, bin,
			"--name=fleet",
			"--data-dir="+filepath.Join(dir, "etcd"),
			"--listen-client-urls="+clientURL,
			"--advertise-client-urls="+clientURL,
			"--listen-peer-urls="+peerURL,
			"--initial-advertise-peer-urls="+peerURL,
			"--initial-cluster=fleet="+peerURL,
			"--unsafe-no-fsync=true", // disposable data: durability costs start-up time for nothing
			"--log-level=warn",
		)
		if err != nil {
			return nil, "", err
		}
		probe := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}, Timeout: 5 * time.Second}
		err = waitFor(ctx, 30*time.Second, "etcd /health", []*runningProcess{p}, func(ctx context.Context) (bool, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, clientURL+"/health", nil)
			if err != nil {
				return false, err
			}
			resp, err := probe.Do(req)
			if err != nil {
				return false, nil
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK, nil
		})
		if err == nil {
			return p, clientURL, nil
		}
		p.stop()
		if attempt == portAttempts || !strings.Contains(LogTail(logPath, 30), "address already in use") {
			return nil, "", err
		}
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
