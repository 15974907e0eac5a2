package reconciler

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/policies"
	"github.com/flotilla-dev/flotilla/sources/render"
)

// MeshError is the mesh guardrails' refusal of a render: its error findings, each with the
// file it came from. Nothing was applied or pruned. No option overrides it (unlike a
// *policies.RefusalError): the commit itself must change, or, for a reference the cluster
// lacks, the cluster.
type MeshError struct {
	Findings policies.MeshFindings
	// Lines are the findings as printed, with their files.
	Lines []string
}

func (e *MeshError) Error() string {
	return "the mesh guardrails refuse the render; nothing was applied or pruned:\n" + strings.Join(e.Lines, "\n")
}

// meshCheck is the mesh guardrails at work on one render.
type meshCheck struct {
	mesh   *policies.Mesh
	report policies.MeshReport
}

// checkMeshRender runs the guardrails on the render alone: what it finds needs nothing from
// the cluster.
func (r *run) checkMeshRender(desired *render.Manifests) *meshCheck {
	m := policies.NewMesh(desired.Objects, policies.MeshOptions{DefaultNamespace: r.key.App.Spec.Namespace})
	return &meshCheck{mesh: m, report: m.Check(nil)}
}

// withCluster judges again the references that the render does not resolve, with what the
// cluster holds: one metadata LIST per kind and namespace concerned (Services, Gateways,
// Secrets: names only), and whole DestinationRules and ServiceEntries only when a subset or an
// external host must be found among them. A LIST that fails leaves its references unchecked,
// with a warning.
func (mc *meshCheck) withCluster(ctx context.Context, target *clusters.Target) []string {
	queries := mc.report.Queries()
	if len(queries) == 0 {
		return nil
	}
	lookups := make([]clusters.Lookup, len(queries))
	for i, q := range queries {
		lookups[i] = lookupOf(q)
	}
	found := &policies.ClusterObjects{}
	var warnings []string
	for i, res := range target.LookupAll(ctx, lookups) {
		if res.Err != nil {
			warnings = append(warnings, fmt.Sprintf("mesh guardrails: %v; references to what it holds were not checked", res.Err))
			continue
		}
		found.Answered = append(found.Answered, queries[i])
		for _, id := range res.IDs {
			found.Names = append(found.Names, object.ID{Kind: id.Kind, Namespace: id.Namespace, Name: id.Name})
		}
		found.Objects = append(found.Objects, res.Objects...)
	}
	mc.report = mc.mesh.Check(found)
	return warnings
}

// lookupOf is the LIST that answers a query.
func lookupOf(q policies.MeshQuery) clusters.Lookup {
	l := clusters.Lookup{GroupKind: schema.GroupKind{Kind: q.Kind}, Namespace: q.Namespace, Name: q.Name}
	switch q.Kind {
	case policies.KindGateway:
		l.GroupKind.Group = "networking.istio.io"
	case policies.KindDestinationRule, policies.KindServiceEntry:
		l.GroupKind.Group, l.Full = "networking.istio.io", true
	}
	return l
}

// meshLines are the findings as printed: istioctl analyze's format, with the file of
// the field (a patch of an overlay that set it, or the object's file).
func (r *run) meshLines(findings policies.MeshFindings, originOf func(object.ID) render.Origin) []string {
	out := make([]string, len(findings))
	for i, f := range findings {
		origin := originOf(f.Object)
		if origin.File == "" { // the render names no namespace; the finding names the App's
			origin = originOf(object.ID{Group: f.Object.Group, Kind: f.Object.Kind, Name: f.Object.Name})
		}
		out[i] = f.Format(origin.FileOf(fieldPath(f.Field)))
	}
	return out
}

// fieldPath turns a finding's field ("spec.http[0].route") into the path that
// render.Origin.FileOf reads (".spec.http[0].route").
func fieldPath(field string) string {
	if field == "" {
		return ""
	}
	return "." + field
}

// judgeMesh turns the report into the guard's finding (nil without errors) and the result's
// warnings.
//
// A rollback is not refused: it restores what ran before, which the pair may need at once
// (after a failed health check, say), so its errors are shown as warnings.
func (r *run) judgeMesh(mc *meshCheck, extra []string, originOf func(object.ID) render.Origin) *Finding {
	r.result.Warnings = append(append(r.result.Warnings, extra...), r.meshLines(mc.report.Findings.Warnings(), originOf)...)
	errs := mc.report.Findings.Errors()
	if len(errs) == 0 {
		return nil
	}
	if r.restoring() {
		for _, line := range r.meshLines(errs, originOf) {
			r.result.Warnings = append(r.result.Warnings, line+" (not enforced: a rollback restores what ran before)")
		}
		return nil
	}
	return &Finding{CheckMesh, &MeshError{Findings: errs, Lines: r.meshLines(errs, originOf)}}
}

// restoring reports whether the reconcile restores a snapshot (a rollback).
func (r *run) restoring() bool {
	_, restored := r.rev.(*Restored)
	return restored
}
