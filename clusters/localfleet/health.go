package localfleet

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
)

// apiHealth is what an API server's /readyz says about it.
type apiHealth struct {
	ready bool
	// goingAway: the process runs but is on its way out: it refuses connections (a
	// kube-apiserver stops listening at once on SIGTERM, then takes up to a minute to exit) or
	// its shutdown check fails. It will not become ready again.
	goingAway bool
	reason    string
}

// probeAPIServer asks the API server's /readyz, with each failing check named.
func probeAPIServer(ctx context.Context, config *rest.Config) apiHealth {
	cfg := rest.CopyConfig(config)
	cfg.Timeout = 3 * time.Second
	client, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return apiHealth{reason: fmt.Sprintf("client: %v", err)}
	}
	body, err := client.RESTClient().Get().AbsPath("/readyz").Param("verbose", "true").DoRaw(ctx)
	return readyzHealth(body, err)
}

// readyzHealth judges a /readyz?verbose answer.
func readyzHealth(body []byte, err error) apiHealth {
	if err == nil {
		return apiHealth{ready: true}
	}
	if errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(err.Error(), "connection refused") {
		return apiHealth{goingAway: true, reason: "kube-apiserver refuses connections: it is shutting down or hung"}
	}
	failing := failingChecks(string(body))
	for _, check := range failing {
		if check == "shutdown" {
			return apiHealth{goingAway: true, reason: "kube-apiserver is shutting down (/readyz: shutdown failed)"}
		}
	}
	if len(failing) > 0 {
		return apiHealth{reason: "/readyz failed: " + strings.Join(failing, ", ")}
	}
	return apiHealth{reason: fmt.Sprintf("/readyz: %v", err)}
}

// failingChecks are the checks a verbose /readyz lists as failed ("[-]etcd failed: …").
func failingChecks(body string) []string {
	var failing []string
	for _, line := range strings.Split(body, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "[-]")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, " ")
		failing = append(failing, name)
	}
	return failing
}

// probeService says whether a service the holder runs beside the fleet answers HTTP: any answer
// but a server error counts.
func probeService(ctx context.Context, url string) error {
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}, Timeout: 3 * time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return fmt.Errorf("%s answers %s", url, resp.Status)
	}
	return nil
}
