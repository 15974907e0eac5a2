package policies

import (
	"fmt"
	"sort"
	"strings"

	networking "istio.io/api/networking/v1"
)

// checkGateways finds Gateways of one workload that claim one host on one port, and TLS
// servers whose certificate Secret is missing.
func (c *checker) checkGateways() {
	c.checkConflictingGateways()
	for _, gw := range c.gateways {
		for i, server := range gw.spec.GetServers() {
			c.checkServerTLS(gw, i, server)
		}
	}
}

// checkConflictingGateways reports, on each Gateway server, the other Gateways with the same
// workload selector that claim one of its hosts on the same port (and bind address): the
// gateway's proxy can serve only one of them.
func (c *checker) checkConflictingGateways() {
	type key struct{ selector, bind, host string }
	claims := map[key]map[uint32][]string{} // by port: gateway names
	for _, gw := range c.gateways {
		selector := labelList(gw.spec.GetSelector())
		for _, server := range gw.spec.GetServers() {
			port := server.GetPort().GetNumber()
			for _, host := range server.GetHosts() {
				k := key{selector, server.GetBind(), host}
				if claims[k] == nil {
					claims[k] = map[uint32][]string{}
				}
				claims[k][port] = append(claims[k][port], gw.id.Namespace+"/"+gw.id.Name)
			}
		}
	}
	for _, gw := range c.gateways {
		self := gw.id.Namespace + "/" + gw.id.Name
		selector := labelList(gw.spec.GetSelector())
		for i, server := range gw.spec.GetServers() {
			port := server.GetPort().GetNumber()
			others := map[string]bool{}
			for _, host := range server.GetHosts() {
				for _, name := range claims[key{selector, server.GetBind(), host}][port] {
					if name != self {
						others[name] = true
					}
				}
			}
			if len(others) == 0 {
				continue
			}
			names := make([]string, 0, len(others))
			for name := range others {
				names = append(names, name)
			}
			sort.Strings(names)
			c.add(SeverityError, CodeConflictingGateways, gw.id, fmt.Sprintf("spec.servers[%d]", i),
				"Conflict with gateways %s (workload selector %s, port %d, hosts %s).", strings.Join(names, ","), selector, port, strings.Join(server.GetHosts(), ","))
		}
	}
}

// tlsNeedsCertificate are the server TLS modes that terminate TLS with a certificate of their
// own.
var tlsNeedsCertificate = map[networking.ServerTLSSettings_TLSmode]bool{
	networking.ServerTLSSettings_SIMPLE:          true,
	networking.ServerTLSSettings_MUTUAL:          true,
	networking.ServerTLSSettings_OPTIONAL_MUTUAL: true,
}

// checkServerTLS checks that a server terminating TLS has a certificate, and that the Secrets
// its credentialName (or credentialNames) names exist where the gateway's workload runs: in
// the namespaces of the render's workloads that the Gateway's selector picks, or, when the
// render holds none, in any namespace.
func (c *checker) checkServerTLS(gw meshObject[*networking.Gateway], i int, server *networking.Server) {
	tls := server.GetTls()
	if !tlsNeedsCertificate[tls.GetMode()] {
		return
	}
	base := fmt.Sprintf("spec.servers[%d].tls", i)
	names := map[string]string{}
	if tls.GetCredentialName() != "" {
		names[base+".credentialName"] = tls.GetCredentialName()
	}
	for j, name := range tls.GetCredentialNames() {
		names[fmt.Sprintf("%s.credentialNames[%d]", base, j)] = name
	}
	if len(names) == 0 {
		if tls.GetServerCertificate() == "" && len(tls.GetTlsCertificates()) == 0 {
			c.add(SeverityError, CodeSchemaValidationError, gw.id, base, "tls.mode %s needs a certificate: credentialName (a Secret) or serverCertificate and privateKey", tls.GetMode())
		}
		return
	}
	namespaces := c.gatewayNamespaces(gw.spec.GetSelector())
	fields := make([]string, 0, len(names))
	for field := range names {
		fields = append(fields, field)
	}
	sort.Strings(fields)
	for _, field := range fields {
		name := names[field]
		if strings.Contains(name, "://") {
			continue // a reference Istio resolves itself (kubernetes-gateway://…)
		}
		if c.secretFound(name, namespaces, gw, field) != absent {
			continue
		}
		where := "in any namespace"
		if len(namespaces) > 0 {
			where = "in namespace " + strings.Join(namespaces, " or ") + ", where the gateway's workload runs"
		}
		c.add(SeverityError, CodeReferencedResourceNotFound, gw.id, field, "Referenced credentialName not found: %q (no Secret %s %s)", name, name, where)
	}
}

// gatewayNamespaces are the namespaces of the render's workloads whose pods the selector picks.
func (c *checker) gatewayNamespaces(selector map[string]string) []string {
	if len(selector) == 0 {
		return nil
	}
	key := labelList(selector)
	if namespaces, ok := c.gatewayNS[key]; ok {
		return namespaces
	}
	seen := map[string]bool{}
	var out []string
	for _, w := range c.workloads {
		if selects(selector, w.labels) && !seen[w.id.Namespace] {
			seen[w.id.Namespace] = true
			out = append(out, w.id.Namespace)
		}
	}
	sort.Strings(out)
	if c.gatewayNS == nil {
		c.gatewayNS = map[string][]string{}
	}
	c.gatewayNS[key] = out
	return out
}

// secretFound looks for the Secret in the namespaces (none: any), in the render, then in the
// cluster.
func (c *checker) secretFound(name string, namespaces []string, gw meshObject[*networking.Gateway], field string) presence {
	if len(namespaces) == 0 {
		if c.secretNames[name] {
			return present
		}
		return c.refs.lookup(MeshRef{Kind: KindSecret, Name: name, From: gw.id, Field: field})
	}
	refs := make([]MeshRef, 0, len(namespaces))
	for _, ns := range namespaces {
		if c.secrets[nsName{ns, name}] {
			return present
		}
		refs = append(refs, MeshRef{Kind: KindSecret, Namespace: ns, Name: name, From: gw.id, Field: field})
	}
	return c.refs.lookup(refs...)
}
