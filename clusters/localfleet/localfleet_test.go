package localfleet_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/clusters/localfleet"
	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
)

// shared is the fleet the tests of this package share: three clusters with the Istio CRDs, in
// a folder of its own so that TestStartRefusesBadInput can aim a second Start at it.
var shared = fleettest.Shared{Options: localfleet.Options{
	Clusters: 3, NamePrefix: "local", Istio: true, Dir: filepath.Join(os.TempDir(), fmt.Sprintf("localfleet-test-%d", os.Getpid())),
}}

func TestMain(m *testing.M) {
	code := shared.Main(m)
	os.RemoveAll(shared.Options.Dir)
	os.Exit(code)
}

func TestClustersAreIsolated(t *testing.T) {
	fleet := shared.Fleet(t)
	const ns = "only-in-the-first"
	first := fleet.Clusters[0]
	fleettest.Kubectl(t, first, "create", "namespace", ns)
	t.Cleanup(func() { _, _ = fleettest.KubectlResult(first, "delete", "namespace", ns, "--wait=false") })

	if got := fleettest.Kubectl(t, first, "get", "namespace", ns, "-o", "name"); strings.TrimSpace(got) != "namespace/"+ns {
		t.Fatalf("%s: kubectl get namespace = %q, want namespace/%s", first.Name, got, ns)
	}
	for _, c := range fleet.Clusters[1:] {
		_, err := fleettest.KubectlResult(c, "get", "namespace", ns)
		if err == nil || !strings.Contains(err.Error(), "NotFound") {
			t.Errorf("%s: kubectl get namespace %s: err = %v, want NotFound", c.Name, ns, err)
		}
	}
}

func TestClustersHaveDistinctServersAndContexts(t *testing.T) {
	fleet := shared.Fleet(t)
	seen := map[string]string{}
	for i, c := range fleet.Clusters {
		if want := fmt.Sprintf("local-%d", i+1); c.Name != want {
			t.Errorf("cluster %d is named %q, want %q", i, c.Name, want)
		}
		if other, dup := seen[c.Server]; dup {
			t.Errorf("%s and %s share server %s", c.Name, other, c.Server)
		}
		seen[c.Server] = c.Name
		// The fleet kubeconfig's context of that name reaches the same server.
		got, err := fleettest.KubectlResult(c, "--kubeconfig", fleet.Kubeconfig, "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}")
		if err != nil {
			t.Fatal(err)
		}
		if got != c.Server {
			t.Errorf("context %s in %s points at %q, want %q", c.Name, fleet.Kubeconfig, got, c.Server)
		}
	}
}

// TestUsersAuthenticateWithTheAdminToken: the kubeconfigs a fleet hands out carry a bearer token
// of an admin (cheap for the API server to check on every request), no client key.
func TestUsersAuthenticateWithTheAdminToken(t *testing.T) {
	fleet := shared.Fleet(t)
	for _, kubeconfig := range []string{fleet.Kubeconfig, fleet.Clusters[0].Kubeconfig} {
		whoami := fleettest.Kubectl(t, fleet.Clusters[0], "--kubeconfig", kubeconfig, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}")
		if !strings.HasPrefix(whoami, "flotilla-admin ") || !strings.Contains(whoami, "system:masters") {
			t.Errorf("%s authenticates as %q, want flotilla-admin in system:masters", kubeconfig, whoami)
		}
		raw, err := os.ReadFile(kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), "client-key-data") || !strings.Contains(string(raw), "token: ") {
			t.Errorf("%s should hold a token and no client key:\n%s", kubeconfig, raw)
		}
	}
}

func TestDeploymentBecomesAvailable(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[1]
	ns := fleettest.Namespace(t, c)
	apply(t, c, ns, `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.example/web:1.0
`)
	fleettest.Kubectl(t, c, "-n", ns, "wait", "--for=condition=Available", "deployment/web", "--timeout=60s")
	fleettest.Eventually(t, 30*time.Second, func() error {
		out, err := fleettest.KubectlResult(c, "-n", ns, "get", "pods", "-l", "app=web",
			"-o", `jsonpath={range .items[*]}{.status.phase}/{.spec.nodeName}{" "}{end}`)
		if err != nil {
			return err
		}
		want := fmt.Sprintf("Running/%[1]s Running/%[1]s", localfleet.FakeNodeName)
		if strings.TrimSpace(out) != want {
			return fmt.Errorf("pods are %q, want %q", out, want)
		}
		return nil
	})
}

// Pods stay ready only while the node controller hears from the fake node: kwok must renew its
// Lease well within the 50 s grace period, or a fleet older than a minute has no ready pod.
func TestFakeNodeLeaseIsRenewed(t *testing.T) {
	c := shared.Fleet(t).Clusters[0]
	renewTime := func() (string, error) {
		return fleettest.KubectlResult(c, "-n", "kube-node-lease", "get", "lease", localfleet.FakeNodeName, "-o", "jsonpath={.spec.renewTime}")
	}
	var first string
	fleettest.Eventually(t, 30*time.Second, func() (err error) {
		first, err = renewTime()
		return err
	})
	fleettest.Eventually(t, 30*time.Second, func() error {
		now, err := renewTime()
		if err != nil || now == first {
			return fmt.Errorf("lease of %s last renewed at %s (err %v), not renewed since", localfleet.FakeNodeName, now, err)
		}
		return nil
	})
	if ready := fleettest.Kubectl(t, c, "get", "node", localfleet.FakeNodeName, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`); ready != "True" {
		t.Errorf("node %s Ready = %q", localfleet.FakeNodeName, ready)
	}
}

func TestUnschedulableDeploymentExceedsProgressDeadline(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[2]
	ns := fleettest.Namespace(t, c)
	apply(t, c, ns, `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: stuck
spec:
  replicas: 1
  progressDeadlineSeconds: 10
  selector:
    matchLabels: {app: stuck}
  template:
    metadata:
      labels: {app: stuck}
    spec:
      nodeSelector: {no-such-label: anywhere}
      containers:
      - name: stuck
        image: registry.example/stuck:1.0
`)
	fleettest.Kubectl(t, c, "-n", ns, "wait", "deployment/stuck", "--timeout=90s",
		`--for=jsonpath={.status.conditions[?(@.type=="Progressing")].reason}=ProgressDeadlineExceeded`)
	got := fleettest.Kubectl(t, c, "-n", ns, "get", "deployment/stuck",
		"-o", `jsonpath={.status.conditions[?(@.type=="Progressing")].status}`)
	if got != "False" {
		t.Errorf("Progressing status = %q, want False", got)
	}
	phase := fleettest.Kubectl(t, c, "-n", ns, "get", "pods", "-l", "app=stuck", "-o", "jsonpath={.items[*].status.phase}")
	if phase != "Pending" {
		t.Errorf("pod phase = %q, want Pending", phase)
	}
}

func TestIstioResourcesRoundTrip(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	apply(t, c, ns, `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 90
    - destination: {host: reviews, subset: v2}
      weight: 10
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels: {version: v2}
`)
	weights := fleettest.Kubectl(t, c, "-n", ns, "get", "virtualservice/reviews", "-o", "jsonpath={.spec.http[0].route[*].weight}")
	if weights != "90 10" {
		t.Errorf("VirtualService weights = %q, want %q", weights, "90 10")
	}
	subsets := fleettest.Kubectl(t, c, "-n", ns, "get", "destinationrule.networking.istio.io/reviews", "-o", "jsonpath={.spec.subsets[*].name}")
	if subsets != "v1 v2" {
		t.Errorf("DestinationRule subsets = %q, want %q", subsets, "v1 v2")
	}
}

func TestStartRefusesBadInput(t *testing.T) {
	fleet := shared.Fleet(t)
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	someoneElses := t.TempDir()
	if err := os.WriteFile(filepath.Join(someoneElses, "notes.txt"), []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		mutate  func(*localfleet.Options)
		wantErr string
		is      error
	}{
		{name: "zero clusters", mutate: func(o *localfleet.Options) { o.Clusters = 0 }, wantErr: "clusters: 0 is out of range"},
		{name: "too many clusters", mutate: func(o *localfleet.Options) { o.Clusters = 1000 }, wantErr: "clusters: 1000 is out of range"},
		{name: "bad name prefix", mutate: func(o *localfleet.Options) { o.NamePrefix = "Bad_Name" }, wantErr: `name prefix "Bad_Name" is invalid`},
		{name: "unwritable dir", mutate: func(o *localfleet.Options) { o.Dir = filepath.Join(notADir, "fleet") }, wantErr: "cannot be created"},
		{name: "non-empty foreign dir", mutate: func(o *localfleet.Options) { o.Dir = someoneElses }, wantErr: "is not empty and holds no fleet"},
		{name: "running fleet's dir", mutate: func(o *localfleet.Options) { o.Dir = fleet.Dir }, wantErr: "already running", is: localfleet.ErrFleetRunning},
	}
	before := fleettest.Processes(fleet.Dir)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := localfleet.DefaultOptions()
			tt.mutate(&opts)
			f, err := localfleet.Start(context.Background(), opts)
			if err == nil {
				f.Stop()
				t.Fatal("Start succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error = %v, want errors.Is %v", err, tt.is)
			}
			if opts.Dir != "" {
				if procs := fleettest.Processes(opts.Dir); len(procs) > 0 && opts.Dir != fleet.Dir {
					t.Errorf("processes started for a refused fleet: %v", procs)
				}
			}
		})
	}
	if after := fleettest.Processes(fleet.Dir); len(after) != len(before) {
		t.Errorf("the running fleet had %d processes before and %d after: %v", len(before), len(after), after)
	}
	if b, err := os.ReadFile(filepath.Join(someoneElses, "notes.txt")); err != nil || string(b) != "keep me" {
		t.Errorf("a refused folder was changed: notes.txt = %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(someoneElses, ".flotilla-fleet")); err == nil {
		t.Errorf("a refused folder got a fleet marker")
	}
}

func TestFailedStartNamesProcessAndLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	opts := localfleet.DefaultOptions()
	opts.Dir = dir
	opts.Istio = false
	opts.ExtraAPIServerArgs = []string{"--no-such-flag=1"}
	f, err := localfleet.Start(context.Background(), opts)
	if err == nil {
		f.Stop()
		t.Fatal("Start succeeded with a bad kube-apiserver flag")
	}
	for _, want := range []string{"cluster local-1", "kube-apiserver exited during start", "unknown flag: --no-such-flag", "kube-apiserver.log"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}
	if procs := fleettest.Processes(dir); len(procs) > 0 {
		t.Errorf("processes left after a failed start: %v", procs)
	}
}

func TestStopLeavesNoProcess(t *testing.T) {
	dir := t.TempDir()
	opts := localfleet.DefaultOptions()
	opts.Dir = dir
	opts.Istio = false
	f, err := localfleet.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if procs := fleettest.Processes(dir); len(procs) != 5 {
		t.Errorf("a one-cluster fleet runs %d processes, want 5 (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok): %v", len(procs), procs)
	}
	if err := f.Stop(); err != nil {
		t.Fatal(err)
	}
	if procs := fleettest.Processes(dir); len(procs) > 0 {
		t.Errorf("processes left after Stop: %v", procs)
	}
	if _, err := os.Stat(filepath.Join(dir, "fleet.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("fleet.json still exists after Stop: %v", err)
	}
}

// apply writes manifests to a file and applies them with kubectl into the namespace.
func apply(t *testing.T, c *localfleet.Cluster, ns, manifests string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "manifests.yaml")
	if err := os.WriteFile(path, []byte(manifests), 0o644); err != nil {
		t.Fatal(err)
	}
	fleettest.Kubectl(t, c, "-n", ns, "apply", "-f", path)
}
