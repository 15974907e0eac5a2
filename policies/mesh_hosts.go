package policies

import (
	"net/netip"
	"strings"

	networking "istio.io/api/networking/v1"

	"github.com/flotilla-dev/flotilla/internal/object"
)

// fqdn is a host as Istio reads it in an object of namespace ns: a short name (no dot) is a
// Service of that namespace, "reviews" in "shop" is "reviews.shop.svc.cluster.local"; anything
// with a dot, a wildcard or an IP address is taken as it is (so "reviews.shop" is not the
// Service: Istio takes it as a fully qualified name).
func (m *Mesh) fqdn(host, ns string) string {
	if host == "" || host == "*" || strings.Contains(host, ".") || isIP(host) {
		return host
	}
	return host + "." + ns + ".svc." + m.domain
}

func isIP(host string) bool {
	if strings.Trim(host, "0123456789abcdefABCDEF.:") != "" {
		return false // not worth parsing (and a parse error costs an allocation)
	}
	_, err := netip.ParseAddr(host)
	return err == nil
}

// serviceOf is the Service a fully qualified host names (NAME.NAMESPACE.svc.DOMAIN), if it
// names one.
func (m *Mesh) serviceOf(fqdn string) (nsName, bool) {
	rest, ok := strings.CutSuffix(fqdn, ".svc."+m.domain)
	if !ok {
		return nsName{}, false
	}
	name, ns, ok := strings.Cut(rest, ".")
	if !ok || name == "" || ns == "" || strings.Contains(ns, ".") || strings.Contains(name, "*") {
		return nsName{}, false
	}
	return nsName{ns, name}, true
}

// namespaceOfHost is the namespace whose Services a fully qualified host, or a wildcard
// (*.shop.svc.cluster.local), stands for; "" if it is no such host.
func (m *Mesh) namespaceOfHost(fqdn string) string {
	if svc, ok := m.serviceOf(fqdn); ok {
		return svc.namespace
	}
	if rest, ok := strings.CutPrefix(fqdn, "*."); ok {
		if ns, ok := strings.CutSuffix(rest, ".svc."+m.domain); ok && !strings.Contains(ns, ".") {
			return ns
		}
	}
	return ""
}

// hostMatches reports whether pattern, a host or a wildcard ("*", "*.example.com"), covers
// host, as Istio matches them.
func hostMatches(pattern, host string) bool {
	switch {
	case pattern == "*":
		return true
	case strings.HasPrefix(pattern, "*"):
		return strings.HasSuffix(host, pattern[1:])
	}
	return pattern == host
}

// unchecked reports whether a destination host is not one to look up: a wildcard or an IP.
func unchecked(host string) bool { return host == "" || strings.Contains(host, "*") || isIP(host) }

// presence is what a lookup found.
type presence int

const (
	absent presence = iota
	present
	// unknown: not in the render, and the cluster was not asked.
	unknown
)

// resolver answers references that the render does not resolve from what was read of the
// cluster, and remembers those it could not answer.
type resolver struct {
	m        *Mesh
	answered map[MeshQuery]bool
	names    map[object.ID]bool
	anyNS    map[[2]string]bool // kind, name
	drs      hostIndex[meshObject[*networking.DestinationRule]]
	ses      hostIndex[object.ID]
	unknown  []MeshRef
}

func newResolver(m *Mesh, cluster *ClusterObjects) *resolver {
	r := &resolver{m: m, answered: map[MeshQuery]bool{}, names: map[object.ID]bool{}, anyNS: map[[2]string]bool{}}
	if cluster == nil {
		return r
	}
	for _, q := range cluster.Answered {
		r.answered[q] = true
	}
	for _, id := range cluster.Names {
		r.names[object.ID{Kind: id.Kind, Namespace: id.Namespace, Name: id.Name}] = true
		r.anyNS[[2]string{id.Kind, id.Name}] = true
	}
	for _, obj := range cluster.Objects {
		id := object.IDOf(obj)
		switch id.Kind {
		case KindDestinationRule:
			spec := &networking.DestinationRule{}
			if parseSpec(obj, spec) == nil {
				r.drs.add(m.fqdn(spec.GetHost(), id.Namespace), meshObject[*networking.DestinationRule]{id: id, spec: spec})
			}
		case KindServiceEntry:
			spec := &networking.ServiceEntry{}
			if parseSpec(obj, spec) == nil {
				for _, h := range spec.GetHosts() {
					r.ses.add(m.fqdn(h, id.Namespace), id)
				}
			}
		}
	}
	return r
}

// lookup asks the cluster objects for any of the references (one of them found is enough):
// present if one is there, absent if every one was asked and none is, unknown otherwise (and
// the references not asked are remembered).
func (r *resolver) lookup(refs ...MeshRef) presence {
	var missing []MeshRef
	for _, ref := range refs {
		switch r.find(ref) {
		case present:
			return present
		case unknown:
			missing = append(missing, ref)
		}
	}
	if len(missing) == 0 {
		return absent
	}
	r.unknown = append(r.unknown, missing...)
	return unknown
}

func (r *resolver) find(ref MeshRef) presence {
	if !r.answered[ref.Query()] {
		return unknown
	}
	switch {
	case ref.Kind == KindDestinationRule:
		if subsetIn(r.drs.lookup(ref.Host), ref.Subset) {
			return present
		}
	case ref.Kind == KindServiceEntry:
		if len(r.ses.lookup(ref.Host)) > 0 {
			return present
		}
	case ref.Namespace == "":
		if r.anyNS[[2]string{ref.Kind, ref.Name}] {
			return present
		}
	case r.names[object.ID{Kind: ref.Kind, Namespace: ref.Namespace, Name: ref.Name}]:
		return present
	}
	return absent
}

// hostIndex finds what is declared for a host: its values for exactly that host if there are
// any (Istio prefers them), else those of the wildcards that cover it.
type hostIndex[T any] struct {
	exact map[string][]T
	wild  []wildcardEntry[T]
}

type wildcardEntry[T any] struct {
	pattern string
	value   T
}

func (ix *hostIndex[T]) add(host string, v T) {
	if strings.HasPrefix(host, "*") {
		ix.wild = append(ix.wild, wildcardEntry[T]{host, v})
		return
	}
	if ix.exact == nil {
		ix.exact = map[string][]T{}
	}
	ix.exact[host] = append(ix.exact[host], v)
}

func (ix *hostIndex[T]) lookup(host string) []T {
	if values := ix.exact[host]; len(values) > 0 {
		return values
	}
	var out []T
	for _, w := range ix.wild {
		if hostMatches(w.pattern, host) {
			out = append(out, w.value)
		}
	}
	return out
}

// subsetIn reports whether one of the rules defines the subset.
func subsetIn(rules []meshObject[*networking.DestinationRule], subset string) bool {
	for _, dr := range rules {
		for _, s := range dr.spec.GetSubsets() {
			if s.GetName() == subset {
				return true
			}
		}
	}
	return false
}

// resolveHost says whether a fully qualified destination host is a ServiceEntry's or a
// Service's, in the render or in the cluster.
func (c *checker) resolveHost(fqdn string, from object.ID, field string) presence {
	if unchecked(fqdn) || len(c.entryHosts.lookup(fqdn)) > 0 {
		return present
	}
	entry := MeshRef{Kind: KindServiceEntry, Host: fqdn, From: from, Field: field}
	svc, ok := c.serviceOf(fqdn)
	if !ok {
		return c.refs.lookup(entry)
	}
	if _, inRender := c.services[svc]; inRender {
		return present
	}
	return c.refs.lookup(MeshRef{Kind: KindService, Namespace: svc.namespace, Name: svc.name, From: from, Field: field}, entry)
}

// resolveSubset says whether a DestinationRule for the host defines the subset: in the render,
// when the render holds a rule for the host (that rule is the one that counts), else in the
// cluster.
func (c *checker) resolveSubset(fqdn, subset string, from object.ID, field string) presence {
	if rules := c.ruleHosts.lookup(fqdn); len(rules) > 0 {
		if subsetIn(rules, subset) {
			return present
		}
		return absent
	}
	return c.refs.lookup(MeshRef{Kind: KindDestinationRule, Host: fqdn, Subset: subset, From: from, Field: field})
}
