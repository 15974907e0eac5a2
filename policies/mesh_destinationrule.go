package policies

import (
	"fmt"
	"sort"
	"strings"
)

// checkSubsetWorkloads checks that each subset of a DestinationRule for a Service selects the
// pods of some workload of the render: a workload in the Service's namespace whose pod labels
// hold the Service's selector (when the render holds the Service) and the subset's labels. A
// render without workloads in that namespace is not judged (its workloads come from elsewhere).
// A subset that selects nothing is a warning, and an error when a VirtualService of the render
// sends it traffic: those requests would find no endpoint (503 "no healthy upstream").
func (c *checker) checkSubsetWorkloads() {
	var routed map[[2]string]string
	for _, dr := range c.destinationRules {
		fqdn := c.fqdn(dr.spec.GetHost(), dr.id.Namespace)
		svc, ok := c.serviceOf(fqdn)
		if !ok || !c.hasWorkloadsIn(svc.namespace) {
			continue
		}
		selector, known := c.services[svc]
		for i, subset := range dr.spec.GetSubsets() {
			if len(subset.GetLabels()) == 0 || len(c.workloadsIn(svc.namespace, selector, subset.GetLabels())) > 0 {
				continue
			}
			if routed == nil {
				routed = c.routedSubsets()
			}
			what := "no workload in namespace " + svc.namespace + " has pods labelled " + labelList(subset.GetLabels())
			if known && len(selector) > 0 {
				what += " and " + labelList(selector) + " (Service " + svc.name + "'s selector)"
			}
			field := fmt.Sprintf("spec.subsets[%d].labels", i)
			if by, ok := routed[[2]string{fqdn, subset.GetName()}]; ok {
				c.add(SeverityError, "", dr.id, field, "subset %s selects no pods: %s, and %s sends it traffic, which would find no endpoint", subset.GetName(), what, by)
				continue
			}
			c.add(SeverityWarning, "", dr.id, field, "subset %s selects no pods: %s", subset.GetName(), what)
		}
	}
}

// labelList is "app=reviews,version=v2".
func labelList(labels map[string]string) string {
	pairs := make([]string, 0, len(labels))
	for k, v := range labels {
		pairs = append(pairs, k+"="+v)
	}
	sort.Strings(pairs)
	return strings.Join(pairs, ",")
}
