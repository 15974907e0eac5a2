package server_test

import (
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/reconciler"
	"github.com/flotilla-dev/flotilla/server"
)

// httpServe serves h on 127.0.0.1 for the test.
func httpServe(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

// webhookCount is the value of flotilla_webhook_requests_total{provider, result}.
func webhookCount(t *testing.T, ts *testServer, provider, result string) float64 {
	t.Helper()
	return counterValue(t, ts.metrics, "flotilla_webhook_requests_total", map[string]string{"provider": provider, "result": result})
}

// counterValue is the value of the counter name with exactly labels, 0 if it has none.
func counterValue(t *testing.T, m *server.Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, metric := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range metric.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			if maps.Equal(got, labels) {
				if metric.GetCounter() != nil {
					return metric.GetCounter().GetValue()
				}
				return float64(metric.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

// TestMetricsExposed records one of each metric and checks /metrics shows every name, with no
// token needed, and the Go and process collectors beside them.
func TestMetricsExposed(t *testing.T) {
	ts := newTestServer(t)
	m := ts.metrics
	m.ObserveReconcile("shop", "dev", "Synced", 1500*time.Millisecond)
	m.DriftEvent("enforce", "kubectl-scale")
	m.SetManagedObjects("dev", 300)
	m.ObserveFetch("fleet", 200*time.Millisecond, nil)
	m.ObserveFetch("fleet", time.Second, errors.New("connection refused"))
	m.SetQueueDepth(4)
	m.WatchRestart("dev")
	body := githubPush("fleet")
	ts.do(t, "POST", "/hooks/github", "", body, githubHeader("push", body, secret))

	status, text := ts.do(t, "GET", "/metrics", "", nil, nil)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, text)
	}
	for _, want := range []string{
		`flotilla_reconcile_duration_seconds_bucket{app="shop",cluster="dev",result="Synced",le="1.6"} 1`,
		`flotilla_syncs_total{app="shop",cluster="dev",result="Synced"} 1`,
		`flotilla_drift_events_total{manager="kubectl-scale",mode="enforce"} 1`,
		`flotilla_managed_objects{cluster="dev"} 300`,
		`flotilla_source_fetch_duration_seconds_count{source="fleet"} 2`,
		`flotilla_source_fetch_errors_total{source="fleet"} 1`,
		`flotilla_webhook_requests_total{provider="github",result="queued"} 1`,
		`flotilla_queue_depth 4`,
		`flotilla_watch_restarts_total{cluster="dev"} 1`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestMetricsObserver checks Metrics as a reconciler.Observer: a done event counts, others not.
func TestMetricsObserver(t *testing.T) {
	m := server.NewMetrics()
	var o reconciler.Observer = m
	o.Observe(reconciler.Event{App: "shop", Cluster: "dev", Stage: reconciler.StageApply, Message: "applying"})
	o.Observe(reconciler.Event{Message: "fetched fleet", Stage: reconciler.StageFetch})
	for range 2 {
		o.Observe(reconciler.Event{App: "shop", Cluster: "dev", Stage: reconciler.StageDone,
			Result: &reconciler.Result{App: "shop", Cluster: "dev", Status: reconciler.StatusFailed, Duration: config.Duration{Duration: time.Second}}})
	}
	labels := map[string]string{"app": "shop", "cluster": "dev", "result": "Failed"}
	if got := counterValue(t, m, "flotilla_syncs_total", labels); got != 2 {
		t.Errorf("flotilla_syncs_total%v = %v, want 2", labels, got)
	}
	if got := counterValue(t, m, "flotilla_reconcile_duration_seconds", labels); got != 2 {
		t.Errorf("flotilla_reconcile_duration_seconds%v count = %v, want 2", labels, got)
	}
}

// TestMetricsNil checks that a nil *Metrics takes every call.
func TestMetricsNil(t *testing.T) {
	var m *server.Metrics
	m.ObserveReconcile("a", "c", "Synced", time.Second)
	m.DriftEvent("warn", "kubectl")
	m.SetManagedObjects("c", 1)
	m.ObserveFetch("s", time.Second, nil)
	m.SetQueueDepth(1)
	m.WatchRestart("c")
	m.ForgetCluster("c")
	m.Observe(reconciler.Event{Stage: reconciler.StageDone, Result: &reconciler.Result{}})
}

// TestMetricsLoopbackOnly checks that /metrics answers a client that is not on loopback only
// with PublicMetrics. The requests go straight to the handler: no traffic leaves the machine.
func TestMetricsLoopbackOnly(t *testing.T) {
	tests := []struct {
		remote string
		public bool
		status int
	}{
		{"127.0.0.1:40000", false, http.StatusOK},
		{"[::1]:40000", false, http.StatusOK},
		{"192.0.2.10:40000", false, http.StatusForbidden},
		{"192.0.2.10:40000", true, http.StatusOK},
	}
	for _, tt := range tests {
		srv, err := server.New(server.Options{Agent: newFakeAgent(), PublicMetrics: tt.public, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.RemoteAddr = tt.remote
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		if rec.Code != tt.status {
			t.Errorf("remote %s, public %v: status %d, want %d", tt.remote, tt.public, rec.Code, tt.status)
		}
	}
}
