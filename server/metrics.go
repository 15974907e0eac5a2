package server

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/flotilla-dev/flotilla/reconciler"
)

// Metrics are the agent's Prometheus metrics, on a registry of their own (never the global
// one), served at /metrics with the Go runtime's and the process's. The agent calls its methods;
// the server records webhook requests itself. Every method is safe for concurrent use, and does
// nothing on a nil *Metrics.
//
// Metrics is also a reconciler.Observer: given as (or among) the reconciler's observers, it
// records each finished reconcile. An agent that does so must not also call ObserveReconcile
// for the same reconciles, or they count twice.
type Metrics struct {
	registry          *prometheus.Registry
	reconcileDuration *prometheus.HistogramVec
	syncs             *prometheus.CounterVec
	driftEvents       *prometheus.CounterVec
	managedObjects    *prometheus.GaugeVec
	fetchDuration     *prometheus.HistogramVec
	fetchErrors       *prometheus.CounterVec
	webhookRequests   *prometheus.CounterVec
	queueDepth        prometheus.Gauge
	watchRestarts     *prometheus.CounterVec
}

// NewMetrics makes the metrics and their registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		reconcileDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flotilla_reconcile_duration_seconds",
			Help:    "How long a reconcile of one App on one cluster took, by result (the reconciler's status: Synced, Healthy, Failed, Refused, …).",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 13), // 50ms … 205s
		}, []string{"app", "cluster", "result"}),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flotilla_syncs_total",
			Help: "Reconciles of one App on one cluster, by result.",
		}, []string{"app", "cluster", "result"}),
		driftEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flotilla_drift_events_total",
			Help: "Changes to managed objects that Flotilla did not make, by the App's drift mode and the field manager that made them.",
		}, []string{"mode", "manager"}),
		managedObjects: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flotilla_managed_objects",
			Help: "Objects Flotilla manages on each cluster.",
		}, []string{"cluster"}),
		fetchDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flotilla_source_fetch_duration_seconds",
			Help:    "How long a fetch of a Source took, failed ones included.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14), // 10ms … 82s
		}, []string{"source"}),
		fetchErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flotilla_source_fetch_errors_total",
			Help: "Fetches of a Source that failed.",
		}, []string{"source"}),
		webhookRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flotilla_webhook_requests_total",
			Help: "Webhook requests, by provider and result (queued, unmatched, ignored, bad_signature, malformed, too_large, unconfigured, error).",
		}, []string{"provider", "result"}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "flotilla_queue_depth",
			Help: "App × cluster reconciles waiting in the work queue.",
		}),
		watchRestarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flotilla_watch_restarts_total",
			Help: "Times a drift watch on a cluster had to be started again.",
		}, []string{"cluster"}),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.reconcileDuration, m.syncs, m.driftEvents, m.managedObjects, m.fetchDuration,
		m.fetchErrors, m.webhookRequests, m.queueDepth, m.watchRestarts,
	)
	return m
}

// Registry is the registry the metrics are on, for a caller that adds collectors of its own.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.registry
}

// Handler serves the metrics in Prometheus' text (or OpenMetrics) format.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// ObserveReconcile records a finished reconcile of app on cluster: its duration and one sync,
// by result.
func (m *Metrics) ObserveReconcile(app, cluster, result string, d time.Duration) {
	if m == nil {
		return
	}
	m.reconcileDuration.WithLabelValues(app, cluster, result).Observe(d.Seconds())
	m.syncs.WithLabelValues(app, cluster, result).Inc()
}

// DriftEvent records a change to a managed object that Flotilla did not make, by the App's drift
// mode (enforce, warn, ignore) and the field manager that made it.
func (m *Metrics) DriftEvent(mode, manager string) {
	if m == nil {
		return
	}
	m.driftEvents.WithLabelValues(mode, manager).Inc()
}

// SetManagedObjects records how many objects Flotilla manages on cluster.
func (m *Metrics) SetManagedObjects(cluster string, n int) {
	if m == nil {
		return
	}
	m.managedObjects.WithLabelValues(cluster).Set(float64(n))
}

// ForgetCluster drops the per-cluster series of a cluster no longer configured.
func (m *Metrics) ForgetCluster(cluster string) {
	if m == nil {
		return
	}
	m.managedObjects.DeleteLabelValues(cluster)
	m.watchRestarts.DeleteLabelValues(cluster)
	m.reconcileDuration.DeletePartialMatch(prometheus.Labels{"cluster": cluster})
	m.syncs.DeletePartialMatch(prometheus.Labels{"cluster": cluster})
}

// ObserveFetch records a fetch of source that took d, and failed if err is not nil.
func (m *Metrics) ObserveFetch(source string, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.fetchDuration.WithLabelValues(source).Observe(d.Seconds())
	if err != nil {
		m.fetchErrors.WithLabelValues(source).Inc()
	}
}

// SetQueueDepth records how many reconciles wait in the work queue.
func (m *Metrics) SetQueueDepth(n int) {
	if m == nil {
		return
	}
	m.queueDepth.Set(float64(n))
}

// WatchRestart records that a drift watch on cluster was started again.
func (m *Metrics) WatchRestart(cluster string) {
	if m == nil {
		return
	}
	m.watchRestarts.WithLabelValues(cluster).Inc()
}

// webhookRequest records a webhook request's result.
func (m *Metrics) webhookRequest(provider, result string) {
	if m == nil {
		return
	}
	m.webhookRequests.WithLabelValues(provider, result).Inc()
}

// Observe records a finished reconcile (an event of StageDone with a Result): its duration and
// one sync, by the Result's status. Other events are ignored.
func (m *Metrics) Observe(e reconciler.Event) {
	if m == nil || e.Stage != reconciler.StageDone || e.Result == nil {
		return
	}
	app, cluster := e.Result.App, e.Result.Cluster
	if app == "" {
		app = e.App
	}
	if cluster == "" {
		cluster = e.Cluster
	}
	m.ObserveReconcile(app, cluster, string(e.Result.Status), e.Result.Duration.Duration)
}

// Metrics records reconciles as a reconciler.Observer.
var _ reconciler.Observer = (*Metrics)(nil)
