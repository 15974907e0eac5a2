package policies

import (
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	networking "istio.io/api/networking/v1"
	security "istio.io/api/security/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/flotilla-dev/flotilla/internal/object"
)

// Mesh is a render indexed for the guardrails: its Istio objects parsed, its Services,
// workloads and Secrets by namespace.
type Mesh struct {
	domain, root, defaultNamespace string

	virtualServices       []meshObject[*networking.VirtualService]
	destinationRules      []meshObject[*networking.DestinationRule]
	gateways              []meshObject[*networking.Gateway]
	serviceEntries        []meshObject[*networking.ServiceEntry]
	peerAuthentications   []meshObject[*security.PeerAuthentication]
	authorizationPolicies []meshObject[*security.AuthorizationPolicy]

	// services are the render's Services by namespace/name, with their selectors.
	services map[nsName]map[string]string
	// workloads are the render's pod-making objects, all and by namespace.
	workloads   []workload
	workloadsNS map[string][]workload
	// ruleHosts and entryHosts index the DestinationRules and ServiceEntries by fully qualified
	// host.
	ruleHosts  hostIndex[meshObject[*networking.DestinationRule]]
	entryHosts hostIndex[object.ID]
	// secrets and gatewayNames are the render's Secrets and Gateways by namespace/name.
	secrets, gatewayNames map[nsName]bool
	secretNames           map[string]bool
	// parseFindings are the Istio objects that could not be read.
	parseFindings MeshFindings
}

// meshObject is a parsed Istio object.
type meshObject[T proto.Message] struct {
	id   object.ID
	spec T
}

type nsName struct{ namespace, name string }

// workload is an object that makes pods: its ID and its pods' labels.
type workload struct {
	id     object.ID
	labels map[string]string
}

// podLabelPaths are where each kind of workload keeps the labels of its pods.
var podLabelPaths = map[string][]string{
	"Deployment":  {"spec", "template", "metadata", "labels"},
	"StatefulSet": {"spec", "template", "metadata", "labels"},
	"DaemonSet":   {"spec", "template", "metadata", "labels"},
	"ReplicaSet":  {"spec", "template", "metadata", "labels"},
	"Job":         {"spec", "template", "metadata", "labels"},
	"Rollout":     {"spec", "template", "metadata", "labels"}, // Argo Rollouts
	"CronJob":     {"spec", "jobTemplate", "spec", "template", "metadata", "labels"},
	"Pod":         {"metadata", "labels"},
}

// NewMesh indexes the rendered objects. Istio objects whose spec cannot be read as istio.io/api
// types are left out, each with a warning (the cluster's schema check refuses what is truly
// malformed; a field newer than istio.io/api is ignored).
func NewMesh(objects []*unstructured.Unstructured, opts MeshOptions) *Mesh {
	m := &Mesh{
		domain: opts.ClusterDomain, root: opts.RootNamespace, defaultNamespace: opts.DefaultNamespace,
		services: map[nsName]map[string]string{}, secrets: map[nsName]bool{}, gatewayNames: map[nsName]bool{}, secretNames: map[string]bool{},
	}
	if m.domain == "" {
		m.domain = "cluster.local"
	}
	if m.root == "" {
		m.root = "istio-system"
	}
	if m.defaultNamespace == "" {
		m.defaultNamespace = "default"
	}
	m.workloadsNS = map[string][]workload{}
	for _, obj := range objects {
		m.add(obj)
	}
	for _, dr := range m.destinationRules {
		m.ruleHosts.add(m.fqdn(dr.spec.GetHost(), dr.id.Namespace), dr)
	}
	for _, se := range m.serviceEntries {
		for _, h := range se.spec.GetHosts() {
			m.entryHosts.add(m.fqdn(h, se.id.Namespace), se.id)
		}
	}
	return m
}

func (m *Mesh) add(obj *unstructured.Unstructured) {
	id := object.IDOf(obj)
	if id.Namespace == "" {
		id.Namespace = m.defaultNamespace
	}
	switch id.Group {
	case "networking.istio.io":
		switch id.Kind {
		case "VirtualService":
			m.virtualServices = appendParsed(m, m.virtualServices, id, obj, &networking.VirtualService{})
		case "DestinationRule":
			m.destinationRules = appendParsed(m, m.destinationRules, id, obj, &networking.DestinationRule{})
		case "Gateway":
			m.gatewayNames[nsName{id.Namespace, id.Name}] = true
			m.gateways = appendParsed(m, m.gateways, id, obj, &networking.Gateway{})
		case "ServiceEntry":
			m.serviceEntries = appendParsed(m, m.serviceEntries, id, obj, &networking.ServiceEntry{})
		}
	case "security.istio.io":
		switch id.Kind {
		case "PeerAuthentication":
			m.peerAuthentications = appendParsed(m, m.peerAuthentications, id, obj, &security.PeerAuthentication{})
		case "AuthorizationPolicy":
			m.authorizationPolicies = appendParsed(m, m.authorizationPolicies, id, obj, &security.AuthorizationPolicy{})
		}
	case "":
		switch id.Kind {
		case "Service":
			selector, _, _ := unstructured.NestedStringMap(obj.Object, "spec", "selector")
			m.services[nsName{id.Namespace, id.Name}] = selector
		case "Secret":
			m.secrets[nsName{id.Namespace, id.Name}] = true
			m.secretNames[id.Name] = true
		case "Pod":
			m.addWorkload(id, obj)
		}
	case "apps", "batch", "argoproj.io":
		m.addWorkload(id, obj)
	}
}

func (m *Mesh) addWorkload(id object.ID, obj *unstructured.Unstructured) {
	path, ok := podLabelPaths[id.Kind]
	if !ok {
		return
	}
	labels, _, _ := unstructured.NestedStringMap(obj.Object, path...)
	w := workload{id: id, labels: labels}
	m.workloads = append(m.workloads, w)
	m.workloadsNS[id.Namespace] = append(m.workloadsNS[id.Namespace], w)
}

// appendParsed parses obj's spec into spec and appends it, or records why it could not.
func appendParsed[T proto.Message](m *Mesh, list []meshObject[T], id object.ID, obj *unstructured.Unstructured, spec T) []meshObject[T] {
	if err := parseSpec(obj, spec); err != nil {
		m.parseFindings = append(m.parseFindings, MeshFinding{Severity: SeverityWarning, Object: id, Field: "spec",
			Message: fmt.Sprintf("not checked by the mesh guardrails: the spec does not read as an Istio %s: %v", id.Kind, err)})
		return list
	}
	return append(list, meshObject[T]{id: id, spec: spec})
}

// specReader reads specs as istio.io/api's own JSON unmarshalers do, but without failing on
// fields it does not know (a newer Istio's).
var specReader = protojson.UnmarshalOptions{DiscardUnknown: true}

// parseSpec reads obj's spec into spec.
func parseSpec(obj *unstructured.Unstructured, spec proto.Message) error {
	raw, ok := obj.Object["spec"]
	if !ok || raw == nil {
		return nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return fmt.Errorf("encode spec: %w", err)
	}
	return specReader.Unmarshal(b, spec)
}

// selects reports whether the labels hold every key and value of selector (an empty selector
// selects everything).
func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// workloadsIn are the render's workloads in namespace ns whose pods carry every label of each
// selector.
func (m *Mesh) workloadsIn(ns string, selectors ...map[string]string) []workload {
	var out []workload
	for _, w := range m.workloadsNS[ns] {
		all := true
		for _, s := range selectors {
			all = all && selects(s, w.labels)
		}
		if all {
			out = append(out, w)
		}
	}
	return out
}

// hasWorkloadsIn reports whether the render holds any workload in namespace ns.
func (m *Mesh) hasWorkloadsIn(ns string) bool { return len(m.workloadsNS[ns]) > 0 }
