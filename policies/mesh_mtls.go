package policies

import (
	"fmt"

	networking "istio.io/api/networking/v1"
	security "istio.io/api/security/v1"
)

// peerMode is the mutual TLS mode in force for some workloads, and the PeerAuthentication
// that sets it.
type peerMode struct {
	mode security.PeerAuthentication_MutualTLS_Mode
	pa   meshObject[*security.PeerAuthentication]
	// meshWide: the PeerAuthentication is the root namespace's, without a selector.
	meshWide bool
}

// namespaceMode is the mode the render's PeerAuthentications set for a namespace as a whole:
// the namespace's own (without a selector), else the mesh's (the root namespace's without a
// selector). ok is false when the render sets none.
func (m *Mesh) namespaceMode(ns string) (peerMode, bool) {
	var mesh *peerMode
	for _, pa := range m.peerAuthentications {
		mode := pa.spec.GetMtls().GetMode()
		if len(pa.spec.GetSelector().GetMatchLabels()) > 0 || mode == security.PeerAuthentication_MutualTLS_UNSET {
			continue
		}
		switch pa.id.Namespace {
		case ns:
			return peerMode{mode: mode, pa: pa, meshWide: ns == m.root}, true
		case m.root:
			mesh = &peerMode{mode: mode, pa: pa, meshWide: true}
		}
	}
	if mesh != nil {
		return *mesh, true
	}
	return peerMode{}, false
}

// workloadMode is the mode for one workload's pods: a PeerAuthentication of its namespace
// whose selector picks them, else the namespace's.
func (m *Mesh) workloadMode(w workload) (peerMode, bool) {
	for _, pa := range m.peerAuthentications {
		selector := pa.spec.GetSelector().GetMatchLabels()
		mode := pa.spec.GetMtls().GetMode()
		if pa.id.Namespace == w.id.Namespace && len(selector) > 0 && mode != security.PeerAuthentication_MutualTLS_UNSET && selects(selector, w.labels) {
			return peerMode{mode: mode, pa: pa}, true
		}
	}
	return m.namespaceMode(w.id.Namespace)
}

// checkMTLS finds DestinationRules that turn TLS off (tls.mode DISABLE, also what a tls block
// without a mode means) towards a Service whose workloads accept only mutual TLS (a STRICT
// PeerAuthentication of the render): every request to it would be refused. A workload's own
// PeerAuthentication counts when the render holds the Service and its workloads, else the
// namespace's or the mesh's. With only the mesh-wide one to go by, the finding is a warning:
// a PeerAuthentication of the namespace outside this render may relax it.
func (c *checker) checkMTLS() {
	if len(c.peerAuthentications) == 0 {
		return
	}
	for _, dr := range c.destinationRules {
		disabled := tlsDisabled(dr.spec)
		if len(disabled) == 0 {
			continue
		}
		fqdn := c.fqdn(dr.spec.GetHost(), dr.id.Namespace)
		ns := c.namespaceOfHost(fqdn)
		if ns == "" {
			continue
		}
		strict, found := c.strictFor(fqdn, ns)
		if !found {
			continue
		}
		severity, unless := SeverityError, ""
		if strict.meshWide && ns != c.root {
			severity, unless = SeverityWarning, fmt.Sprintf(" (unless a PeerAuthentication of namespace %s outside this render relaxes it)", ns)
		}
		for _, field := range disabled {
			c.add(severity, CodeMTLSPolicyConflict, dr.id, field,
				"A DestinationRule and Policy are in conflict with regards to mTLS for host %s. The DestinationRule %q specifies that mTLS must be false but the Policy object %q specifies STRICT: its workloads refuse these requests%s.",
				fqdn, dr.id.Name+"."+dr.id.Namespace, "PeerAuthentication "+strict.pa.id.Name+"."+strict.pa.id.Namespace, unless)
		}
	}
}

// strictFor finds the STRICT mode in force for the host's workloads, if one is.
func (c *checker) strictFor(fqdn, ns string) (peerMode, bool) {
	if svc, ok := c.serviceOf(fqdn); ok {
		if selector, inRender := c.services[svc]; inRender {
			if workloads := c.workloadsIn(ns, selector); len(workloads) > 0 {
				for _, w := range workloads {
					if mode, ok := c.workloadMode(w); ok && mode.mode == security.PeerAuthentication_MutualTLS_STRICT {
						return mode, true
					}
				}
				return peerMode{}, false
			}
		}
	}
	mode, ok := c.namespaceMode(ns)
	return mode, ok && mode.mode == security.PeerAuthentication_MutualTLS_STRICT
}

// tlsDisabled are the fields of a DestinationRule that turn TLS off.
func tlsDisabled(dr *networking.DestinationRule) []string {
	var fields []string
	policy := func(base string, p *networking.TrafficPolicy) {
		if tls := p.GetTls(); tls != nil && tls.GetMode() == networking.ClientTLSSettings_DISABLE {
			fields = append(fields, base+".tls.mode")
		}
		for i, port := range p.GetPortLevelSettings() {
			if tls := port.GetTls(); tls != nil && tls.GetMode() == networking.ClientTLSSettings_DISABLE {
				fields = append(fields, fmt.Sprintf("%s.portLevelSettings[%d].tls.mode", base, i))
			}
		}
	}
	policy("spec.trafficPolicy", dr.GetTrafficPolicy())
	for i, s := range dr.GetSubsets() {
		policy(fmt.Sprintf("spec.subsets[%d].trafficPolicy", i), s.GetTrafficPolicy())
	}
	return fields
}
