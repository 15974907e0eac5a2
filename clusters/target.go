package clusters

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Target is one cluster Flotilla syncs: its name and labels from the configuration, and the
// clients that talk to it.
type Target struct {
	Name   string
	Labels map[string]string
	// Config is the client configuration from the kubeconfig and context.
	Config *rest.Config

	dynamic   dynamic.Interface
	metadata  metadata.Interface
	discovery *discovery.DiscoveryClient
	mapper    *restmapper.DeferredDiscoveryRESTMapper
	requests  *RequestCounter
	// schemaCache is shared with the other clusters of the Registry that made the Target.
	schemaCache *SchemaCache
}

// RequestCounter counts the HTTP requests a Target sends, writes apart.
type RequestCounter struct {
	all, writes atomic.Int64
}

// Requests returns how many requests were sent, and how many of them were writes (POST, PUT,
// PATCH, DELETE; a server-side dry run is counted as a request but not as a write).
func (c *RequestCounter) Requests() (all, writes int64) { return c.all.Load(), c.writes.Load() }

type countingTransport struct {
	next    http.RoundTripper
	counter *RequestCounter
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.counter.all.Add(1)
	if r.Method != http.MethodGet && r.URL.Query().Get("dryRun") == "" {
		t.counter.writes.Add(1)
	}
	return t.next.RoundTrip(r)
}

// NewTargetForConfig makes a Target from a client configuration, with a schema cache of its own
// (a Registry's Targets share one). It does not contact the cluster yet. Client-side rate
// limiting is turned off: API Priority and Fairness protects the server, and Flotilla bounds its
// own parallelism.
func NewTargetForConfig(name string, labels map[string]string, restConfig *rest.Config) (*Target, error) {
	cfg := rest.CopyConfig(restConfig)
	cfg.QPS, cfg.Burst = -1, 0
	t := &Target{Name: name, Labels: labels, Config: cfg, requests: &RequestCounter{}, schemaCache: NewSchemaCache()}
	cfg.Wrap(func(next http.RoundTripper) http.RoundTripper {
		return countingTransport{next: next, counter: t.requests}
	})
	var err error
	if t.dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("Cluster/%s: %w", name, err)
	}
	if t.metadata, err = metadata.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("Cluster/%s: %w", name, err)
	}
	if t.discovery, err = discovery.NewDiscoveryClientForConfig(cfg); err != nil {
		return nil, fmt.Errorf("Cluster/%s: %w", name, err)
	}
	t.mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(t.discovery))
	return t, nil
}

// Requests counts what this Target has sent so far.
func (t *Target) Requests() *RequestCounter { return t.requests }

// mapping finds the resource of a kind, refreshing discovery once if the kind is new (a CRD
// applied moments ago).
func (t *Target) mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := t.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		t.mapper.Reset()
		m, err = t.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// resetMapping forgets cached discovery, after CRDs changed.
func (t *Target) resetMapping() { t.mapper.Reset() }

// resource returns the dynamic client for a mapping and namespace.
func (t *Target) resource(m *meta.RESTMapping, namespace string) dynamic.ResourceInterface {
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return t.dynamic.Resource(m.Resource).Namespace(namespace)
	}
	return t.dynamic.Resource(m.Resource)
}

// applyMetadata server-side applies the object and asks only for the result's metadata, which is
// all Apply needs: the server skips serialising the whole object and Flotilla decoding it.
//
// Field validation is "Ignore": for an apply, the API server's strict mode only parses the body
// a second time to look for duplicate keys, which JSON encoded from a map cannot have (about 8 %
// of the server's CPU per apply). Unknown fields are refused all the same: server-side apply
// checks every field against the schema ("field not declared in schema") in any mode.
func (t *Target) applyMetadata(ctx context.Context, d *desiredObject, force bool) (*metav1.PartialObjectMetadata, error) {
	body, err := d.obj.MarshalJSON()
	if err != nil {
		return nil, err
	}
	opts := metav1.PatchOptions{FieldManager: FieldManager, Force: &force, FieldValidation: metav1.FieldValidationIgnore}
	client := t.metadata.Resource(d.mapping.Resource)
	if d.mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		return client.Namespace(d.obj.GetNamespace()).Patch(ctx, d.obj.GetName(), types.ApplyPatchType, body, opts)
	}
	return client.Patch(ctx, d.obj.GetName(), types.ApplyPatchType, body, opts)
}
