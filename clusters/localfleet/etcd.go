package localfleet

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// etcdName is the name of the fleet's etcd process.
const etcdName = "etcd"

// upEtcd starts the fleet's etcd unless it runs, on its data folder and its old ports when it
// has them and they are free, and waits until it is healthy. When etcd moves to other ports, the
// clusters' API servers, which talk to the old one, stop, to start again against the new one.
// It reports whether it started etcd.
func (f *Fleet) upEtcd(ctx context.Context, out io.Writer) (bool, error) {
	if f.etcd != nil && !f.etcd.hasExited() {
		return false, nil
	}
	verb := "starting"
	if f.etcd != nil || f.etcdURL != "" {
		verb = "restarting"
	}
	fmt.Fprintf(out, "%s etcd\n", verb)
	p, clientURL, peerURL, err := startEtcd(ctx, f.Dir, f.setup.bins.Etcd, urlPort(f.etcdURL), urlPort(f.etcdPeerURL))
	if err != nil {
		return false, err
	}
	moved := f.etcdURL != "" && clientURL != f.etcdURL
	f.etcd, f.etcdURL, f.etcdPeerURL, f.setup.etcdURL = p, clientURL, peerURL, clientURL
	if moved {
		for _, c := range f.Clusters {
			if api := c.running(apiServerName); api != nil {
				api.stop()
			}
		}
	}
	return true, nil
}

// startEtcd starts etcd with its data in dir/etcd, on the given ports if they are not 0 and
// free, else on fresh ones, and waits until it is healthy. It returns the client and peer URLs.
func startEtcd(ctx context.Context, dir, bin string, clientPort, peerPort int) (*runningProcess, string, string, error) {
	logPath := filepath.Join(dir, "etcd.log")
	for attempt := 1; ; attempt++ {
		if attempt > 1 || clientPort == 0 || peerPort == 0 {
			var err error
			if clientPort, err = freePort(); err != nil {
				return nil, "", "", err
			}
			if peerPort, err = freePort(); err != nil {
				return nil, "", "", err
			}
		}
		clientURL := "http://127.0.0.1:" + strconv.Itoa(clientPort)
		peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
		p, err := spawn(etcdName, "", logPath, bin,
			"--name=fleet",
			"--data-dir="+filepath.Join(dir, "etcd"),
			"--listen-client-urls="+clientURL,
			"--advertise-client-urls="+clientURL,
			"--listen-peer-urls="+peerURL,
			"--initial-advertise-peer-urls="+peerURL,
			"--initial-cluster=fleet="+peerURL,
			"--unsafe-no-fsync=true", // local data: durability costs start-up time for nothing
			"--log-level=warn",
		)
		if err != nil {
			return nil, "", "", err
		}
		err = waitFor(ctx, 30*time.Second, "etcd /health", []*runningProcess{p}, func(ctx context.Context) (bool, error) {
			return etcdHealth(ctx, clientURL) == nil, nil
		})
		if err == nil {
			return p, clientURL, peerURL, nil
		}
		p.stop()
		if attempt == portAttempts || !strings.Contains(LogTail(logPath, 30), "address already in use") {
			return nil, "", "", err
		}
	}
}

// etcdHealth asks etcd's /health endpoint whether it serves.
func etcdHealth(ctx context.Context, clientURL string) error {
	probe := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}, Timeout: 5 * time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, clientURL+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := probe.Do(req)
	if err != nil {
		return fmt.Errorf("/health: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/health: %s", resp.Status)
	}
	return nil
}

// urlPort is the port of a URL such as http://127.0.0.1:2379, or 0.
func urlPort(raw string) int {
	u, err := url.Parse(raw)
	if err != nil {
		return 0
	}
	port, _ := strconv.Atoi(u.Port())
	return port
}
