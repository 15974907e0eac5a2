package config

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// APIVersion is the apiVersion of every configuration document.
const APIVersion = "flotilla.dev/v1alpha1"

// Kinds of configuration documents.
const (
	KindSource  = "Source"
	KindCluster = "Cluster"
	KindApp     = "App"
)

// Config is a loaded, validated configuration.
type Config struct {
	Sources  []Source  `json:"sources"`
	Clusters []Cluster `json:"clusters"`
	Apps     []App     `json:"apps"`
}

// ObjectMeta names a configuration object.
type ObjectMeta struct {
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// TypeMeta is the apiVersion and kind of a document.
type TypeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// Origin is where a document was read: file, its first line, and its position in the file.
type Origin struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Document int    `json:"document"`

	fields map[string]int // line of each field, by dotted path
}

// Written reports whether a field (dotted path such as "spec.interval") is written out in the
// document, rather than left to its default.
func (o Origin) Written(field string) bool {
	_, ok := o.fields[field]
	return ok
}

// LineOf returns the line of a field (dotted path such as "spec.ref.semver"), or the document's
// first line if the field is not written out.
func (o Origin) LineOf(field string) int {
	if line, ok := o.fields[field]; ok {
		return line
	}
	return o.Line
}

// Source is a Git repository that Apps deploy from.
type Source struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta `json:"metadata"`
	Spec     SourceSpec `json:"spec"`
	Origin   Origin     `json:"-"`
}

// SourceSpec says where the repository is, which revision to follow and how to check it.
type SourceSpec struct {
	// URL is https://, http:// (127.0.0.1 and tests only), ssh://, user@host:path or file://.
	URL string `json:"url"`
	// Ref picks the revision: exactly one of branch, tag, semver or commit.
	Ref GitRef `json:"ref"`
	// Interval is how often the agent polls the remote; default 1m.
	Interval Duration `json:"interval,omitempty"`
	// Auth holds credentials, by reference only.
	Auth *GitAuth `json:"auth,omitempty"`
	// Verify requires signed revisions.
	Verify *Verification `json:"verify,omitempty"`
	// AllowRemoteBases lets kustomizations of this Source fetch remote bases and URLs. Off by
	// default: rendering reads nothing but the checkout.
	AllowRemoteBases bool `json:"allowRemoteBases,omitempty"`
}

// GitRef selects a revision. Exactly one field is set.
type GitRef struct {
	Branch string `json:"branch,omitempty"`
	Tag    string `json:"tag,omitempty"`
	// Semver is a range over tags, such as ">=1.2.0 <2.0.0" or "~1.4"; the highest match wins.
	Semver string `json:"semver,omitempty"`
	Commit string `json:"commit,omitempty"`
}

// GitAuth holds at most one kind of credential.
type GitAuth struct {
	Basic *BasicAuth `json:"basic,omitempty"`
	// Token is sent as an HTTP bearer token.
	Token *SecretRef `json:"token,omitempty"`
	SSH   *SSHAuth   `json:"ssh,omitempty"`
}

// BasicAuth is an HTTP username and a password kept elsewhere.
type BasicAuth struct {
	Username string    `json:"username"`
	Password SecretRef `json:"password"`
}

// SecretRef points at a secret value: a file or an environment variable, exactly one.
type SecretRef struct {
	File string `json:"file,omitempty"`
	Env  string `json:"env,omitempty"`
}

// SSHAuth is an SSH private key and the host keys to trust.
type SSHAuth struct {
	// User defaults to the user in the URL, else "git".
	User       string     `json:"user,omitempty"`
	PrivateKey SecretRef  `json:"privateKey"`
	Passphrase *SecretRef `json:"passphrase,omitempty"`
	// KnownHosts is a known_hosts file. A host key not in it is refused.
	KnownHosts string `json:"knownHosts,omitempty"`
	// InsecureIgnoreHostKey accepts any host key. Only for tests.
	InsecureIgnoreHostKey bool `json:"insecureIgnoreHostKey,omitempty"`
}

// Verification modes.
const (
	VerifyCommit = "commit"
	VerifyTag    = "tag"
)

// Verification requires that revisions are signed by one of the listed keys.
type Verification struct {
	// Mode is "commit" (the commit is signed) or "tag" (the annotated tag is signed).
	Mode string `json:"mode"`
	// OpenPGPKeys are files with ASCII-armored OpenPGP public keys.
	OpenPGPKeys []string `json:"openpgpKeys,omitempty"`
	// SSHKeys are files with SSH public keys, one per line (authorized_keys format).
	SSHKeys []string `json:"sshKeys,omitempty"`
}

// Cluster is a deployment target. Its metadata.labels are what App selectors match.
type Cluster struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta  `json:"metadata"`
	Spec     ClusterSpec `json:"spec"`
	Origin   Origin      `json:"-"`
}

// ClusterSpec says how to reach the cluster.
type ClusterSpec struct {
	// Kubeconfig is a kubeconfig file, relative to the config file.
	Kubeconfig string `json:"kubeconfig"`
	// Context is the kubeconfig context; empty means the current context.
	Context string `json:"context,omitempty"`
}

// App is what to deploy where.
type App struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta `json:"metadata"`
	Spec     AppSpec    `json:"spec"`
	Origin   Origin     `json:"-"`
}

// AppSpec names the Source, the kustomization path and the clusters.
type AppSpec struct {
	// Source is the name of a Source.
	Source string `json:"source"`
	// Path is the kustomization folder in the repository. It is a Go template over the cluster:
	// "overlays/{{ .Cluster.Labels.env }}" or "clusters/{{ .Cluster.Name }}". It may use field
	// access, index .Cluster.Labels "KEY", lower and upper, nothing else (see the package doc).
	Path string `json:"path"`
	// Namespace is where the App's namespaced objects that name no namespace go (default:
	// "default", as kubectl would put them).
	Namespace string `json:"namespace,omitempty"`
	// ClusterSelector picks the clusters by their labels; an empty selector picks all.
	ClusterSelector metav1.LabelSelector `json:"clusterSelector,omitempty"`
	Sync            SyncPolicy           `json:"sync,omitempty"`
	Health          HealthPolicy         `json:"health,omitempty"`
	Drift           DriftPolicy          `json:"drift,omitempty"`
	Rollout         RolloutPolicy        `json:"rollout,omitempty"`
	Windows         []SyncWindow         `json:"windows,omitempty"`
}

// SyncPolicy says how changes reach clusters.
type SyncPolicy struct {
	// Automated syncs every new revision without a person asking.
	Automated bool `json:"automated,omitempty"`
	// Prune deletes objects that left Git (only those in Flotilla's inventory).
	Prune bool `json:"prune,omitempty"`
	// AllowEmpty allows a render with no objects, which would prune everything.
	AllowEmpty bool `json:"allowEmpty,omitempty"`
	// MaxPrunePercent is the largest share of the App's managed objects on a cluster that one
	// sync may prune, 1 to 100. Unset, a sync may prune anything but all of them (unless the
	// render is empty and allowed). A sync the guard refuses applies nothing and prunes nothing
	// until someone confirms it (flotilla sync --confirm-prune).
	MaxPrunePercent int `json:"maxPrunePercent,omitempty"`
	// Adopt takes over existing objects that Flotilla did not create.
	Adopt bool `json:"adopt,omitempty"`
}

// HealthPolicy says how long a sync may take to become healthy and what happens if it does not.
type HealthPolicy struct {
	Timeout      Duration `json:"timeout,omitempty"`
	AutoRollback bool     `json:"autoRollback,omitempty"`
}

// Drift modes.
const (
	DriftEnforce = "enforce"
	DriftWarn    = "warn"
	DriftIgnore  = "ignore"
)

// DriftPolicy says what to do when a live object no longer matches Git.
type DriftPolicy struct {
	// Mode is enforce (heal), warn (report) or ignore; default warn.
	Mode string `json:"mode,omitempty"`
	// IgnoreManagers are field managers whose changes are left alone: a field one of them set
	// (an HPA's replicas, a traffic controller's weights) is never taken back, by the agent or
	// by flotilla sync, and its changes are not drift.
	IgnoreManagers []string `json:"ignoreManagers,omitempty"`
	// Ignore lists fields of matching objects that are left as they are in the cluster once
	// someone else set them.
	Ignore []IgnoreRule `json:"ignore,omitempty"`
}

// IgnoreRule names fields of some objects to leave alone: objects of the kind (and, when set,
// the name and namespace), fields as JSON pointers ("/spec/replicas"; a number stands for any
// entry of a list).
type IgnoreRule struct {
	Kind      string   `json:"kind"`
	Name      string   `json:"name,omitempty"`
	Namespace string   `json:"namespace,omitempty"`
	Fields    []string `json:"fields"`
}

// RolloutPolicy rolls a revision out in waves of clusters.
type RolloutPolicy struct {
	Waves []Wave `json:"waves,omitempty"`
}

// Wave is a step of a rollout: the clusters it covers, how many of them change at once (0: all),
// and how long they must stay healthy before the next wave.
type Wave struct {
	Name            string               `json:"name"`
	ClusterSelector metav1.LabelSelector `json:"clusterSelector,omitempty"`
	MaxParallel     int                  `json:"maxParallel,omitempty"`
	BakeTime        Duration             `json:"bakeTime,omitempty"`
}

// Window kinds.
const (
	WindowAllow = "allow"
	WindowDeny  = "deny"
)

// SyncWindow opens (allow) or closes (deny) automatic syncing, from each tick of a cron
// schedule (minute hour day-of-month month day-of-week, in TimeZone: UTC by default) for a
// duration, on the clusters the selector picks (all of the App's when empty).
type SyncWindow struct {
	// Name names the window in status and errors (default: "KIND SCHEDULE").
	Name            string               `json:"name,omitempty"`
	Kind            string               `json:"kind"`
	Schedule        string               `json:"schedule"`
	Duration        Duration             `json:"duration"`
	TimeZone        string               `json:"timeZone,omitempty"`
	ClusterSelector metav1.LabelSelector `json:"clusterSelector,omitempty"`
}

// Title is the window's name, or "KIND SCHEDULE" when it has none.
func (w SyncWindow) Title() string {
	if w.Name != "" {
		return w.Name
	}
	return w.Kind + " " + w.Schedule
}
