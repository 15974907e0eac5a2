package localfleet

import (
	"fmt"
	"io"
	"regexp"
	"time"
)

// MaxClusters bounds Options.Clusters: each cluster costs about 400 MB of memory.
const MaxClusters = 20

// Options describe a fleet to start.
type Options struct {
	// Clusters is how many clusters to start, 1 to MaxClusters.
	Clusters int
	// Dir holds the fleet's state: certificates, etcd data, kubeconfig, one log per process.
	// It must be empty, new, or a previous fleet's folder. Empty means a new temporary folder
	// that Stop removes.
	Dir string
	// NamePrefix names clusters and kubeconfig contexts PREFIX-1 … PREFIX-N.
	NamePrefix string
	// Istio installs the Istio CRDs (networking.istio.io, security.istio.io, …) in every cluster.
	Istio bool
	// Progress receives human-readable progress lines; nil discards them.
	Progress io.Writer
	// CacheDir is where cluster binaries are built and cached; see BuildOptions.CacheDir.
	CacheDir string
	// ReadyTimeout bounds the wait for each cluster to become ready.
	ReadyTimeout time.Duration
	// Resume starts the fleet that Dir holds again, if it holds one whose holder is gone: with
	// its certificates, its etcd data and its ports when they are free. Clusters, NamePrefix and
	// Istio must then be what that fleet has. A folder without such a fleet gets a new one.
	Resume bool
	// ExtraAPIServerArgs are appended to every kube-apiserver's command line, e.g. feature gates.
	ExtraAPIServerArgs []string
}

// DefaultOptions returns one cluster named local-1 with the Istio CRDs, in a temporary folder.
func DefaultOptions() Options {
	return Options{Clusters: 1, NamePrefix: "local", Istio: true, ReadyTimeout: 2 * time.Minute}
}

var namePrefixPattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$`)

// Validate reports the first option that cannot work, naming it.
func (o Options) Validate() error {
	if o.Clusters < 1 || o.Clusters > MaxClusters {
		return fmt.Errorf("clusters: %d is out of range: a fleet has 1 to %d clusters", o.Clusters, MaxClusters)
	}
	if !namePrefixPattern.MatchString(o.NamePrefix) {
		return fmt.Errorf("name prefix %q is invalid: use 1-42 lowercase letters, digits and '-', starting and ending with a letter or digit", o.NamePrefix)
	}
	if o.ReadyTimeout < 0 {
		return fmt.Errorf("ready timeout %s is negative", o.ReadyTimeout)
	}
	return nil
}

// clusterName is the name and kubeconfig context of the i-th cluster, counting from 1.
func (o Options) clusterName(i int) string { return fmt.Sprintf("%s-%d", o.NamePrefix, i) }
