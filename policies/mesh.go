package policies

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/flotilla-dev/flotilla/internal/object"
)

// Mesh guardrails: checks of the Istio policy in one render (VirtualServices, DestinationRules,
// Gateways, ServiceEntries, PeerAuthentications, AuthorizationPolicies) against itself, its
// workloads and Services, and what the caller read of the cluster. The objects are parsed
// with the typed structs of istio.io/api (networking/v1, security/v1), which read the v1,
// v1beta1 and v1alpha3 versions alike. NewMesh indexes a render once; Check judges it. Both
// are pure: the cluster's part comes in as ClusterObjects, read by the caller for the
// queries that a first Check (without them) names in MeshReport.Queries.

// Severity is how much a finding weighs: an error refuses the render for the cluster, a
// warning is shown and recorded.
type Severity string

// Severities.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Codes of `istioctl analyze` that findings carry where one describes the same problem, so
// that users of istioctl recognise them (see https://istio.io/docs/reference/config/analysis/).
const (
	// CodeReferencedResourceNotFound (IST0101): a host, subset, gateway or credential that
	// nothing defines.
	CodeReferencedResourceNotFound = "IST0101"
	// CodeSchemaValidationError (IST0106): what Istio's validation refuses (istiod's webhook,
	// and istioctl analyze, say the same).
	CodeSchemaValidationError = "IST0106"
	// CodeConflictingMeshGatewayVirtualServiceHosts (IST0109): two VirtualServices of the mesh
	// gateway claim one host.
	CodeConflictingMeshGatewayVirtualServiceHosts = "IST0109"
	// CodeMTLSPolicyConflict (IST0113): a DestinationRule turns TLS off towards workloads that
	// a PeerAuthentication makes accept only mutual TLS.
	CodeMTLSPolicyConflict = "IST0113"
	// CodeConflictingGateways (IST0145): two Gateways of one workload claim one host on one
	// port.
	CodeConflictingGateways = "IST0145"
)

// codeNames are istioctl's names of the codes.
var codeNames = map[string]string{
	CodeReferencedResourceNotFound:                "ReferencedResourceNotFound",
	CodeSchemaValidationError:                     "SchemaValidationError",
	CodeConflictingMeshGatewayVirtualServiceHosts: "ConflictingMeshGatewayVirtualServiceHosts",
	CodeMTLSPolicyConflict:                        "MTLSPolicyConflict",
	CodeConflictingGateways:                       "ConflictingGateways",
}

// CodeName is istioctl's name of a code ("ReferencedResourceNotFound"), "" for none.
func CodeName(code string) string { return codeNames[code] }

// MeshFinding is one problem a guardrail found in a render.
type MeshFinding struct {
	Severity Severity `json:"severity"`
	// Code is the matching code of istioctl analyze, "" where it has none.
	Code string `json:"code,omitempty"`
	// Object is the object at fault, as the render names it (its namespace filled in).
	Object object.ID `json:"object"`
	// Field is the path of the field at fault: "spec.http[0].route[1].weight".
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// Resource is the object as istioctl analyze names it: "VirtualService reviews.shop".
func (f MeshFinding) Resource() string {
	if f.Object.Namespace == "" {
		return f.Object.Kind + " " + f.Object.Name
	}
	return f.Object.Kind + " " + f.Object.Name + "." + f.Object.Namespace
}

// Format is the finding as istioctl analyze prints one, with the file it came from (if
// known) and the field: `Error [IST0101] (VirtualService reviews.shop) base/vs.yaml:
// spec.http[0].route[0].destination.host: Referenced host not found: "ratings2"`.
func (f MeshFinding) Format(file string) string {
	var b strings.Builder
	b.WriteString(f.level())
	if f.Code != "" {
		b.WriteString(" [" + f.Code + "]")
	}
	b.WriteString(" (" + f.Resource() + ")")
	if file != "" {
		b.WriteString(" " + file + ":")
	}
	if f.Field != "" {
		b.WriteString(" " + f.Field + ":")
	}
	b.WriteString(" " + f.Message)
	return b.String()
}

// String is Format without a file.
func (f MeshFinding) String() string { return f.Format("") }

func (f MeshFinding) level() string {
	if f.Severity == SeverityError {
		return "Error"
	}
	return "Warning"
}

// MeshFindings are a render's findings, errors first, then by object and field.
type MeshFindings []MeshFinding

// Errors are the findings that refuse the render.
func (fs MeshFindings) Errors() MeshFindings { return fs.of(SeverityError) }

// Warnings are the findings that do not.
func (fs MeshFindings) Warnings() MeshFindings { return fs.of(SeverityWarning) }

func (fs MeshFindings) of(s Severity) MeshFindings {
	var out MeshFindings
	for _, f := range fs {
		if f.Severity == s {
			out = append(out, f)
		}
	}
	return out
}

func (fs MeshFindings) sort() {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity != b.Severity {
			return a.Severity == SeverityError
		}
		if a.Object != b.Object {
			return a.Object.String() < b.Object.String()
		}
		return a.Field < b.Field
	})
}

// MeshOptions tune how a render is read.
type MeshOptions struct {
	// DefaultNamespace is where namespaced objects that name none go ("": "default"), as the
	// App's spec.namespace says.
	DefaultNamespace string
	// ClusterDomain is the cluster's DNS domain ("": "cluster.local"): a Service's host is
	// NAME.NAMESPACE.svc.DOMAIN.
	ClusterDomain string
	// RootNamespace is Istio's root namespace ("": "istio-system"), whose PeerAuthentication
	// without a selector holds for the whole mesh.
	RootNamespace string
}

// MeshRef is a reference that the render does not resolve: the cluster may.
type MeshRef struct {
	// Kind is Service, Gateway or Secret (looked up by name), or DestinationRule (a subset of
	// Host) or ServiceEntry (Host).
	Kind string `json:"kind"`
	// Namespace and Name name a Service, Gateway or Secret; Namespace "" is any namespace.
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	// Host is the host a DestinationRule or ServiceEntry must hold, Subset the subset.
	Host   string `json:"host,omitempty"`
	Subset string `json:"subset,omitempty"`
	// From is the object and field that hold the reference.
	From  object.ID `json:"from"`
	Field string    `json:"field"`
}

// String is "Service shop/reviews", "DestinationRule subset v2 of reviews.shop.svc.cluster.local", …
func (r MeshRef) String() string {
	switch {
	case r.Subset != "":
		return fmt.Sprintf("%s subset %s of %s", r.Kind, r.Subset, r.Host)
	case r.Host != "":
		return fmt.Sprintf("%s host %s", r.Kind, r.Host)
	case r.Namespace == "":
		return fmt.Sprintf("%s %s (any namespace)", r.Kind, r.Name)
	}
	return fmt.Sprintf("%s %s/%s", r.Kind, r.Namespace, r.Name)
}

// Query is the read of the cluster that answers the reference.
func (r MeshRef) Query() MeshQuery {
	switch {
	case r.Kind == KindDestinationRule || r.Kind == KindServiceEntry:
		return MeshQuery{Kind: r.Kind}
	case r.Namespace == "":
		return MeshQuery{Kind: r.Kind, Name: r.Name}
	}
	return MeshQuery{Kind: r.Kind, Namespace: r.Namespace}
}

// Kinds that MeshRef and MeshQuery name.
const (
	KindService         = "Service"
	KindGateway         = "Gateway"
	KindSecret          = "Secret"
	KindDestinationRule = "DestinationRule"
	KindServiceEntry    = "ServiceEntry"
)

// MeshQuery is one read of the cluster: the Services, Gateways or Secrets of a namespace (their
// names: a metadata LIST), those of any namespace with one name (Namespace "", Name set), or
// every DestinationRule or ServiceEntry (whole: their hosts and subsets are in their specs).
type MeshQuery struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
}

// ClusterObjects are what the caller read of the cluster for a report's Queries.
type ClusterObjects struct {
	// Answered are the queries that were read; a reference whose query is not among them stays
	// unknown.
	Answered []MeshQuery
	// Names are the Services, Gateways and Secrets found (Kind, Namespace and Name only).
	Names []object.ID
	// Objects are the DestinationRules and ServiceEntries found.
	Objects []*unstructured.Unstructured
}

// MeshReport is what Check found.
type MeshReport struct {
	Findings MeshFindings
	// Unknown are the references that neither the render nor the cluster objects resolve,
	// because the cluster was not asked: no finding is made of them.
	Unknown []MeshRef
}

// Queries are the reads of the cluster that would settle the unknown references, each once.
func (r MeshReport) Queries() []MeshQuery {
	seen := map[MeshQuery]bool{}
	var out []MeshQuery
	for _, ref := range r.Unknown {
		if q := ref.Query(); !seen[q] {
			seen[q] = true
			out = append(out, q)
		}
	}
	return out
}

// Check runs every guardrail on the render, with what was read of the cluster (nil: nothing;
// references the render does not resolve are then unknown, and make no finding).
func (m *Mesh) Check(cluster *ClusterObjects) MeshReport {
	c := &checker{Mesh: m, refs: newResolver(m, cluster)}
	c.findings = append(c.findings, m.parseFindings...)
	c.checkVirtualServices()
	c.checkMeshHosts()
	c.checkSubsetWorkloads()
	c.checkMTLS()
	c.checkGateways()
	c.checkAuthorizationPolicies()
	c.findings.sort()
	return MeshReport{Findings: c.findings, Unknown: c.refs.unknown}
}

// checker is one Check under way.
type checker struct {
	*Mesh
	refs     *resolver
	findings MeshFindings
	// gatewayNS caches gatewayNamespaces by selector.
	gatewayNS map[string][]string
}

func (c *checker) add(severity Severity, code string, id object.ID, field, format string, args ...any) {
	c.findings = append(c.findings, MeshFinding{Severity: severity, Code: code, Object: id, Field: field, Message: fmt.Sprintf(format, args...)})
}
