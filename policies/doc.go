// Package policies holds pure decisions, with no I/O: which clusters an App's selector picks
// (selector.go), what the prune guard allows (pruneguard.go), whether sync windows hold a sync
// (windows.go), how a rollout moves along its waves (rollout.go), and what the mesh guardrails
// find in a render's Istio policy (mesh*.go). Each function takes what it judges and returns a
// verdict with reasons; the reconciler's guard stage asks them.
//
// The mesh guardrails parse Istio objects with the typed structs of istio.io/api and check,
// per render (one App on one cluster):
//
//   - mesh_virtualservice.go: destination weights sum to 100 (Istio refuses only 0, and shares
//     any other sum in proportion); destination hosts resolve to a Service or a ServiceEntry;
//     subsets exist in a DestinationRule for the host; Gateways exist ("mesh" is the
//     sidecars); no two VirtualServices of the mesh gateway claim one host (IST0109).
//   - mesh_destinationrule.go: each subset selects the pods of a workload of the render.
//   - mesh_gateway.go: no two Gateways of one workload claim a host on a port (IST0145); TLS
//     servers have a certificate, and their credentialName Secrets exist (IST0101).
//   - mesh_mtls.go: no DestinationRule turns TLS off towards workloads that a STRICT
//     PeerAuthentication protects (IST0113).
//   - mesh_authorization.go: ALLOW without rules (a warning: it denies everything), malformed
//     principals and namespaces (they never match).
//
// Short hosts resolve in the namespace of the object that names them, as Istio does. What the
// render does not hold (a Service, Gateway, Secret, DestinationRule or ServiceEntry of the
// cluster) is looked up in ClusterObjects, which the caller reads for the queries a first Check
// names; a reference nobody could look up is unknown and makes no finding. Each finding has a
// severity (an error refuses the render), the object, the field path and, where istioctl
// analyze has one, its code.
package policies
