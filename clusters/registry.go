package clusters

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/flotilla-dev/flotilla/config"
)

// Registry owns the clients of the configured clusters and the schema cache they share. A
// cluster's client is made on first use and kept while its spec stays the same: a changed
// kubeconfig (its path or its content, such as a rotated token), context or labels gets a new
// client, and Retain drops the clients of clusters no longer configured, so that a long-running
// process holds no stale ones. It is safe for concurrent use.
type Registry struct {
	mu      sync.Mutex
	targets map[string]registered // by cluster name
	schemas *SchemaCache
}

// registered is a Target with the key of the spec it was made from.
type registered struct {
	key    string
	target *Target
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{targets: map[string]registered{}, schemas: NewSchemaCache()}
}

// Target returns the client of c, made now if c is new or its spec changed since.
func (r *Registry) Target(c *config.Cluster) (*Target, error) {
	key, err := specKey(c)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if reg, ok := r.targets[c.Metadata.Name]; ok && reg.key == key {
		return reg.target, nil
	}
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: c.Spec.Kubeconfig}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: c.Spec.Context}
	restConfig, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("Cluster/%s: kubeconfig %s, context %q: %w", c.Metadata.Name, c.Spec.Kubeconfig, c.Spec.Context, err)
	}
	t, err := NewTargetForConfig(c.Metadata.Name, c.Metadata.Labels, restConfig)
	if err != nil {
		return nil, err
	}
	t.schemaCache = r.schemas
	r.targets[c.Metadata.Name] = registered{key: key, target: t}
	return t, nil
}

// Retain drops the clients of every cluster not named in names.
func (r *Registry) Retain(names ...string) {
	keep := make(map[string]bool, len(names))
	for _, n := range names {
		keep[n] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for name := range r.targets {
		if !keep[name] {
			delete(r.targets, name)
		}
	}
}

// specKey identifies what a cluster's client is made from: its name, labels, kubeconfig path
// and content, and context.
func specKey(c *config.Cluster) (string, error) {
	kubeconfig, err := os.ReadFile(c.Spec.Kubeconfig)
	if err != nil {
		return "", fmt.Errorf("Cluster/%s: kubeconfig %s, context %q: %w", c.Metadata.Name, c.Spec.Kubeconfig, c.Spec.Context, err)
	}
	labels := make([]string, 0, len(c.Metadata.Labels))
	for k, v := range c.Metadata.Labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	h := sha256.New()
	for _, part := range []string{c.Metadata.Name, c.Spec.Kubeconfig, c.Spec.Context, strings.Join(labels, ",")} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	h.Write(kubeconfig)
	return hex.EncodeToString(h.Sum(nil)), nil
}
