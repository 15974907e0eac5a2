package policies

import (
	"fmt"
	"sort"
	"strings"

	networking "istio.io/api/networking/v1"

	"github.com/flotilla-dev/flotilla/internal/object"
)

// checkVirtualServices checks each VirtualService's routes: destination weights, hosts and
// subsets, and the Gateways it binds to.
func (c *checker) checkVirtualServices() {
	for _, vs := range c.virtualServices {
		ns := vs.id.Namespace
		for i, gw := range vs.spec.GetGateways() {
			c.checkGatewayRef(vs.id, ns, gw, fmt.Sprintf("spec.gateways[%d]", i))
		}
		for i, route := range vs.spec.GetHttp() {
			base := fmt.Sprintf("spec.http[%d]", i)
			for j, match := range route.GetMatch() {
				for k, gw := range match.GetGateways() {
					c.checkGatewayRef(vs.id, ns, gw, fmt.Sprintf("%s.match[%d].gateways[%d]", base, j, k))
				}
			}
			weights := make([]int32, len(route.GetRoute()))
			for j, dest := range route.GetRoute() {
				weights[j] = dest.GetWeight()
				c.checkDestination(vs.id, ns, dest.GetDestination(), fmt.Sprintf("%s.route[%d].destination", base, j))
			}
			c.checkWeights(vs.id, base+".route", weights)
			if mirror := route.GetMirror(); mirror != nil {
				c.checkDestination(vs.id, ns, mirror, base+".mirror")
			}
			for j, mirror := range route.GetMirrors() {
				c.checkDestination(vs.id, ns, mirror.GetDestination(), fmt.Sprintf("%s.mirrors[%d].destination", base, j))
			}
		}
		for i, route := range vs.spec.GetTcp() {
			base := fmt.Sprintf("spec.tcp[%d]", i)
			for j, match := range route.GetMatch() {
				for k, gw := range match.GetGateways() {
					c.checkGatewayRef(vs.id, ns, gw, fmt.Sprintf("%s.match[%d].gateways[%d]", base, j, k))
				}
			}
			c.checkRouteDestinations(vs.id, ns, base, route.GetRoute())
		}
		for i, route := range vs.spec.GetTls() {
			base := fmt.Sprintf("spec.tls[%d]", i)
			for j, match := range route.GetMatch() {
				for k, gw := range match.GetGateways() {
					c.checkGatewayRef(vs.id, ns, gw, fmt.Sprintf("%s.match[%d].gateways[%d]", base, j, k))
				}
			}
			c.checkRouteDestinations(vs.id, ns, base, route.GetRoute())
		}
	}
}

// checkRouteDestinations checks a TCP or TLS route's destinations and weights.
func (c *checker) checkRouteDestinations(id object.ID, ns, base string, route []*networking.RouteDestination) {
	weights := make([]int32, len(route))
	for j, dest := range route {
		weights[j] = dest.GetWeight()
		c.checkDestination(id, ns, dest.GetDestination(), fmt.Sprintf("%s.route[%d].destination", base, j))
	}
	c.checkWeights(id, base+".route", weights)
}

// checkWeights checks the weights of one route's destinations: with more than one destination
// they must sum to 100. Istio itself refuses only a sum of 0 and otherwise shares the traffic
// in proportion (80 and 30 send 73 % and 27 %), which is seldom what was meant: Flotilla
// refuses any other sum. A single destination gets all the traffic and may omit its weight.
func (c *checker) checkWeights(id object.ID, path string, weights []int32) {
	if len(weights) < 2 {
		return
	}
	var sum int64
	terms := make([]string, len(weights))
	for j, w := range weights {
		sum += int64(w)
		terms[j] = fmt.Sprintf("route[%d].weight %d", j, w)
		if w < 0 {
			c.add(SeverityError, CodeSchemaValidationError, id, fmt.Sprintf("%s[%d].weight", path, j), "weight %d is negative", w)
			return
		}
	}
	switch {
	case sum == 0:
		c.add(SeverityError, CodeSchemaValidationError, id, path, "total destination weight = 0: no destination of the route gets traffic (%s)", strings.Join(terms, ", "))
	case sum != 100:
		shares := make([]string, len(weights))
		for j, w := range weights {
			shares[j] = fmt.Sprintf("%.0f%%", float64(w)*100/float64(sum))
		}
		c.add(SeverityError, "", id, path, "destination weights sum to %d, not 100 (%s); Istio would share the traffic %s", sum, strings.Join(terms, " + "), strings.Join(shares, " / "))
	}
}

// checkDestination checks that a destination's host is a Service or ServiceEntry, and that its
// subset is defined by a DestinationRule for the host.
func (c *checker) checkDestination(id object.ID, ns string, dest *networking.Destination, path string) {
	host := dest.GetHost()
	if host == "" {
		return
	}
	fqdn := c.fqdn(host, ns)
	switch c.resolveHost(fqdn, id, path+".host") {
	case absent:
		c.add(SeverityError, CodeReferencedResourceNotFound, id, path+".host", "Referenced host not found: %q%s", host, c.hostHint(host, fqdn))
		return
	case unknown:
		if hint := c.hostHint(host, fqdn); hint != "" {
			c.add(SeverityWarning, "", id, path+".host", "%q is no Service's host unless a ServiceEntry declares it%s", host, hint)
		}
	}
	subset := dest.GetSubset()
	if subset == "" || c.resolveSubset(fqdn, subset, id, path+".subset") != absent {
		return
	}
	c.add(SeverityError, CodeReferencedResourceNotFound, id, path+".subset", "Referenced host+subset in destinationrule not found: %q%s", host+"+"+subset, c.subsetHint(fqdn))
}

// hostHint explains a host not found when it looks like a Service written the way Kubernetes
// DNS reads it but Istio does not (reviews.shop, reviews.shop.svc).
func (c *checker) hostHint(host, fqdn string) string {
	if _, isService := c.serviceOf(fqdn); isService {
		return ""
	}
	parts := strings.Split(strings.TrimSuffix(host, ".svc"), ".")
	if len(parts) != 2 {
		return ""
	}
	svc := nsName{parts[1], parts[0]}
	if _, ok := c.services[svc]; ok {
		return fmt.Sprintf(" (Istio reads a host with a dot as fully qualified: for Service %s/%s write %s)", svc.namespace, svc.name, svc.name+"."+svc.namespace+".svc."+c.domain)
	}
	return ""
}

// subsetHint names the subsets that the render's DestinationRules for the host do define.
func (c *checker) subsetHint(fqdn string) string {
	rules := c.ruleHosts.lookup(fqdn)
	if len(rules) == 0 {
		return ""
	}
	var names, subsets []string
	for _, dr := range rules {
		names = append(names, dr.id.Name+"."+dr.id.Namespace)
		for _, s := range dr.spec.GetSubsets() {
			subsets = append(subsets, s.GetName())
		}
	}
	if len(subsets) == 0 {
		return fmt.Sprintf(" (DestinationRule %s defines no subsets)", strings.Join(names, ", "))
	}
	return fmt.Sprintf(" (DestinationRule %s defines %s)", strings.Join(names, ", "), strings.Join(subsets, ", "))
}

// checkGatewayRef checks that a Gateway a VirtualService binds to exists: "mesh" is the
// sidecars, "name" a Gateway of the VirtualService's namespace, "namespace/name" one of
// another.
func (c *checker) checkGatewayRef(id object.ID, ns, ref, path string) {
	if ref == "mesh" || ref == "" {
		return
	}
	gw := nsName{ns, ref}
	if before, after, ok := strings.Cut(ref, "/"); ok {
		gw = nsName{before, after}
	}
	if c.gatewayNames[gw] {
		return
	}
	if c.refs.lookup(MeshRef{Kind: KindGateway, Namespace: gw.namespace, Name: gw.name, From: id, Field: path}) == absent {
		c.add(SeverityError, CodeReferencedResourceNotFound, id, path, "Referenced gateway not found: %q", ref)
	}
}

// checkMeshHosts finds VirtualServices of the mesh gateway (the sidecars: no gateways, or
// "mesh" among them) that claim the same host: Istio then picks one of them, unpredictably.
// Hosts are compared fully qualified, within the scope of each VirtualService's exportTo.
func (c *checker) checkMeshHosts() {
	type claim struct {
		vs    meshObject[*networking.VirtualService]
		field string
	}
	claims := map[[2]string][]claim{} // scope, host
	for _, vs := range c.virtualServices {
		if !onMeshGateway(vs.spec) {
			continue
		}
		scope := "*"
		if export := vs.spec.GetExportTo(); len(export) == 1 && (export[0] == "." || export[0] == vs.id.Namespace) {
			scope = vs.id.Namespace
		}
		for i, host := range vs.spec.GetHosts() {
			key := [2]string{scope, c.fqdn(host, vs.id.Namespace)}
			claims[key] = append(claims[key], claim{vs, fmt.Sprintf("spec.hosts[%d]", i)})
		}
	}
	for key, list := range claims {
		if len(list) < 2 {
			continue
		}
		names := make([]string, len(list))
		for i, cl := range list {
			names[i] = cl.vs.id.Name + "." + cl.vs.id.Namespace
		}
		sort.Strings(names)
		for _, cl := range list {
			c.add(SeverityError, CodeConflictingMeshGatewayVirtualServiceHosts, cl.vs.id, cl.field,
				"The VirtualServices %s associated with mesh gateway define the same host %s which can lead to undefined behavior. This can be fixed by merging the conflicting VirtualServices into a single resource.",
				strings.Join(names, ","), key[1])
		}
	}
}

// onMeshGateway reports whether a VirtualService applies to the sidecars.
func onMeshGateway(vs *networking.VirtualService) bool {
	gateways := vs.GetGateways()
	if len(gateways) == 0 {
		return true
	}
	for _, gw := range gateways {
		if gw == "mesh" {
			return true
		}
	}
	return false
}

// routedSubsets are the subsets that the render's VirtualServices send traffic to (a single
// destination, or a weight above 0), by fully qualified host and subset, with the first
// VirtualService and field that does.
func (c *checker) routedSubsets() map[[2]string]string {
	out := map[[2]string]string{}
	note := func(vs meshObject[*networking.VirtualService], base string, dests []*networking.Destination, weights []int32) {
		for j, d := range dests {
			if d.GetSubset() == "" || (len(dests) > 1 && weights[j] <= 0) {
				continue
			}
			key := [2]string{c.fqdn(d.GetHost(), vs.id.Namespace), d.GetSubset()}
			if _, seen := out[key]; !seen {
				out[key] = fmt.Sprintf("VirtualService %s.%s (%s.route[%d])", vs.id.Name, vs.id.Namespace, base, j)
			}
		}
	}
	for _, vs := range c.virtualServices {
		for i, route := range vs.spec.GetHttp() {
			dests, weights := make([]*networking.Destination, len(route.GetRoute())), make([]int32, len(route.GetRoute()))
			for j, r := range route.GetRoute() {
				dests[j], weights[j] = r.GetDestination(), r.GetWeight()
			}
			note(vs, fmt.Sprintf("spec.http[%d]", i), dests, weights)
		}
		for _, kind := range []string{"tcp", "tls"} {
			routes := tcpRoutes(vs.spec)
			if kind == "tls" {
				routes = tlsRoutes(vs.spec)
			}
			for i, route := range routes {
				dests, weights := make([]*networking.Destination, len(route)), make([]int32, len(route))
				for j, r := range route {
					dests[j], weights[j] = r.GetDestination(), r.GetWeight()
				}
				note(vs, fmt.Sprintf("spec.%s[%d]", kind, i), dests, weights)
			}
		}
	}
	return out
}

func tcpRoutes(vs *networking.VirtualService) [][]*networking.RouteDestination {
	out := make([][]*networking.RouteDestination, len(vs.GetTcp()))
	for i, r := range vs.GetTcp() {
		out[i] = r.GetRoute()
	}
	return out
}

func tlsRoutes(vs *networking.VirtualService) [][]*networking.RouteDestination {
	out := make([][]*networking.RouteDestination, len(vs.GetTls()))
	for i, r := range vs.GetTls() {
		out[i] = r.GetRoute()
	}
	return out
}
