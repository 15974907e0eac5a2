package policies

import (
	"fmt"
	"strings"

	security "istio.io/api/security/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/flotilla-dev/flotilla/internal/object"
)

// checkAuthorizationPolicies warns of ALLOW policies without rules (they deny every request to
// what they select: Istio's "allow-nothing"), and checks the principals and namespaces that
// rules name, which Istio compares as strings: a malformed one never matches, so an ALLOW
// rule lets no one in and a DENY rule stops no one.
func (c *checker) checkAuthorizationPolicies() {
	for _, ap := range c.authorizationPolicies {
		spec := ap.spec
		if spec.GetAction() == security.AuthorizationPolicy_ALLOW && len(spec.GetRules()) == 0 {
			c.add(SeverityWarning, "", ap.id, "spec.rules", "ALLOW with no rules denies every request to %s (Istio's allow-nothing policy); add rules for the callers to let in, or ignore this if denying everything is the intent", c.policyTarget(ap.id, spec))
		}
		for i, rule := range spec.GetRules() {
			for j, from := range rule.GetFrom() {
				base := fmt.Sprintf("spec.rules[%d].from[%d].source", i, j)
				src := from.GetSource()
				if src == nil {
					continue
				}
				c.checkValues(ap.id, base+".principals", src.GetPrincipals(), checkPrincipal)
				c.checkValues(ap.id, base+".notPrincipals", src.GetNotPrincipals(), checkPrincipal)
				c.checkValues(ap.id, base+".namespaces", src.GetNamespaces(), checkNamespace)
				c.checkValues(ap.id, base+".notNamespaces", src.GetNotNamespaces(), checkNamespace)
			}
			for k, when := range rule.GetWhen() {
				base := fmt.Sprintf("spec.rules[%d].when[%d]", i, k)
				check := map[string]func(string) (Severity, string, string){"source.principal": checkPrincipal, "source.namespace": checkNamespace}[when.GetKey()]
				if check != nil {
					c.checkValues(ap.id, base+".values", when.GetValues(), check)
					c.checkValues(ap.id, base+".notValues", when.GetNotValues(), check)
				}
			}
		}
	}
}

// policyTarget says what a policy applies to.
func (c *checker) policyTarget(id object.ID, spec *security.AuthorizationPolicy) string {
	switch labels := spec.GetSelector().GetMatchLabels(); {
	case len(labels) > 0:
		return "the workloads labelled " + labelList(labels) + " in namespace " + id.Namespace
	case spec.GetTargetRef() != nil || len(spec.GetTargetRefs()) > 0:
		return "its targetRefs"
	case id.Namespace == c.root:
		return "every workload of the mesh"
	}
	return "every workload in namespace " + id.Namespace
}

// checkValues checks each value of a list with check, which returns a severity, an istioctl
// code and a problem ("" if none).
func (c *checker) checkValues(id object.ID, field string, values []string, check func(string) (Severity, string, string)) {
	for i, v := range values {
		if severity, code, problem := check(v); problem != "" {
			c.add(severity, code, id, fmt.Sprintf("%s[%d]", field, i), "%s", problem)
		}
	}
}

// wildcardProblem says what is wrong with the wildcards of a value: Istio matches "*" alone, a
// prefix ("abc*") or a suffix ("*abc"), and nothing else.
func wildcardProblem(v string) string {
	if n := strings.Count(v, "*"); n == 0 || v == "*" || (n == 1 && (strings.HasPrefix(v, "*") || strings.HasSuffix(v, "*"))) {
		return ""
	}
	return fmt.Sprintf("%q never matches: Istio reads * only alone, at the start (suffix match) or at the end (prefix match)", v)
}

// checkPrincipal checks a principal: TRUST-DOMAIN/ns/NAMESPACE/sa/SERVICE-ACCOUNT, as Istio
// compares them (without the spiffe:// of the certificate).
func checkPrincipal(v string) (Severity, string, string) {
	switch {
	case v == "":
		return SeverityError, CodeSchemaValidationError, "empty value not allowed (Istio refuses it)"
	case strings.HasPrefix(v, "spiffe://"):
		return SeverityError, "", fmt.Sprintf("%q never matches: Istio compares principals without the spiffe:// prefix (write %s)", v, strings.TrimPrefix(v, "spiffe://"))
	}
	if problem := wildcardProblem(v); problem != "" {
		return SeverityError, "", problem
	}
	if strings.Contains(v, "*") {
		return "", "", ""
	}
	parts := strings.Split(v, "/")
	if len(parts) != 5 || parts[1] != "ns" || parts[3] != "sa" || parts[0] == "" {
		return SeverityWarning, "", fmt.Sprintf("%q is not of the form TRUST-DOMAIN/ns/NAMESPACE/sa/SERVICE-ACCOUNT (cluster.local/ns/shop/sa/reviews) that Istio gives workloads", v)
	}
	if errs := validation.IsDNS1123Label(parts[2]); len(errs) > 0 {
		return SeverityError, "", fmt.Sprintf("%q never matches: no namespace can be called %q", v, parts[2])
	}
	if errs := validation.IsDNS1123Subdomain(parts[4]); len(errs) > 0 {
		return SeverityError, "", fmt.Sprintf("%q never matches: no service account can be called %q", v, parts[4])
	}
	return "", "", ""
}

// checkNamespace checks a namespace name, or a prefix or suffix of one.
func checkNamespace(v string) (Severity, string, string) {
	switch {
	case v == "":
		return SeverityError, CodeSchemaValidationError, "empty value not allowed (Istio refuses it)"
	case strings.Contains(v, "/"):
		return SeverityError, "", fmt.Sprintf("%q never matches: it is not a namespace (a principal belongs in principals)", v)
	}
	if problem := wildcardProblem(v); problem != "" {
		return SeverityError, "", problem
	}
	name := strings.Trim(v, "*")
	if name == "" {
		return "", "", ""
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return SeverityError, "", fmt.Sprintf("%q never matches: namespace names hold only a-z, 0-9 and -", v)
		}
	}
	if !strings.Contains(v, "*") {
		if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
			return SeverityError, "", fmt.Sprintf("%q never matches: no namespace can be called that (%s)", v, errs[0])
		}
	}
	return "", "", ""
}
