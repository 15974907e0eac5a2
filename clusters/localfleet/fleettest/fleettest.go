package fleettest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/flotilla-dev/flotilla/clusters/localfleet"
)

// Shared is one fleet shared by the tests of a package. It starts on first use, so a run of
// only unit tests or benchmarks starts nothing, and Main stops it after the last test:
//
//	var shared = fleettest.Shared{Options: localfleet.Options{Clusters: 3, NamePrefix: "local", Istio: true}}
//
//	func TestMain(m *testing.M) { os.Exit(shared.Main(m)) }
//
//	func TestSomething(t *testing.T) { fleet := shared.Fleet(t); … }
type Shared struct {
	// Options start the fleet; a nil Progress prints progress on stderr.
	Options localfleet.Options

	once  sync.Once
	mu    sync.Mutex
	fleet *localfleet.Fleet
	err   error
}

// Main runs the package's tests and stops the fleet if one started. A SIGINT or SIGTERM stops
// the fleet before the test binary exits. Use it from TestMain: os.Exit(shared.Main(m)).
func (s *Shared) Main(m *testing.M) int {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-signals
		s.stop()
		os.Exit(130)
	}()
	code := m.Run()
	if err := s.stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stop local fleet: %v\n", err)
		return 1
	}
	return code
}

// Fleet returns the shared fleet, starting it on first call; if it cannot start, every test
// that asks for it fails with the reason.
func (s *Shared) Fleet(t testing.TB) *localfleet.Fleet {
	t.Helper()
	s.once.Do(func() {
		opts := s.Options
		if opts.Progress == nil {
			opts.Progress = os.Stderr
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		f, err := localfleet.Start(ctx, opts)
		s.mu.Lock()
		s.fleet, s.err = f, err
		s.mu.Unlock()
	})
	if s.err != nil {
		t.Fatalf("start local fleet: %v", s.err)
	}
	return s.fleet
}

func (s *Shared) stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fleet == nil {
		return nil
	}
	return s.fleet.Stop()
}

// Namespace creates a namespace named after the test in every given cluster and deletes it when
// the test ends. It returns the name.
func Namespace(t testing.TB, clusters ...*localfleet.Cluster) string {
	t.Helper()
	name := namespaceName(t.Name())
	for _, c := range clusters {
		client := Client(t, c)
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if _, err := client.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create Namespace/%s in %s: %v", name, c.Name, err)
		}
		t.Cleanup(func() {
			_ = client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
		})
	}
	return name
}

// namespaceName turns a test name into a DNS label: lowercase, '-' for anything else, at most
// 63 characters, unique per run.
func namespaceName(test string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(test) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	suffix := fmt.Sprintf("-%d", time.Now().UnixNano()%1e6)
	name := strings.Trim(b.String(), "-")
	if len(name) > 63-len(suffix) {
		name = strings.Trim(name[:63-len(suffix)], "-")
	}
	return name + suffix
}

// Client returns a clientset for the cluster.
func Client(t testing.TB, c *localfleet.Cluster) *kubernetes.Clientset {
	t.Helper()
	client, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		t.Fatalf("client for %s: %v", c.Name, err)
	}
	return client
}

// Kubectl runs kubectl against the cluster and returns its standard output; a failure fails the
// test with kubectl's error output.
func Kubectl(t testing.TB, c *localfleet.Cluster, args ...string) string {
	t.Helper()
	out, err := KubectlResult(c, args...)
	if err != nil {
		t.Fatalf("kubectl %s against %s: %v", strings.Join(args, " "), c.Name, err)
	}
	return out
}

// KubectlResult runs kubectl against the cluster and returns its standard output, or an error
// holding its error output.
func KubectlResult(c *localfleet.Cluster, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	full := append([]string{"--kubeconfig", c.Kubeconfig, "--context", c.Name}, args...)
	cmd := exec.CommandContext(ctx, "kubectl", full...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Eventually polls check until it returns nil or the timeout passes, then fails the test with
// check's last error.
func Eventually(t testing.TB, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %s: %v", timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Processes lists the running processes (as "PID NAME") whose command line mentions dir: every
// process of a fleet in dir passes it in a flag, so an empty list proves none is left.
func Processes(dir string) []string {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return []string{"cannot read /proc: " + err.Error()}
	}
	var found []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(dir)) {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && isZombie(stat) {
			continue
		}
		name, _, _ := bytes.Cut(cmdline, []byte{0})
		found = append(found, fmt.Sprintf("%d %s", pid, filepath.Base(string(name))))
	}
	return found
}

func isZombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}
