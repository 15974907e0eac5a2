package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/policies"
	"github.com/flotilla-dev/flotilla/sources/render"
)

// lintReport is what the guardrails found in one render (the JSON of flotilla lint).
type lintReport struct {
	// Target is the folder rendered, or App/Cluster.
	Target  string `json:"target"`
	App     string `json:"app,omitempty"`
	Cluster string `json:"cluster,omitempty"`
	// Path is the kustomization folder in the repository.
	Path     string        `json:"path,omitempty"`
	Errors   int           `json:"errors"`
	Warnings int           `json:"warnings"`
	Findings []lintFinding `json:"findings"`
	// Unchecked are the references that the render does not resolve: only the cluster can.
	Unchecked []lintUnchecked `json:"unchecked,omitempty"`
	// Error is why the target did not render (or its Source could not be fetched).
	Error string `json:"error,omitempty"`
}

// lintFinding is a finding with the file it came from and istioctl's name of its code.
type lintFinding struct {
	policies.MeshFinding
	Name string `json:"name,omitempty"`
	File string `json:"file,omitempty"`
	// Text is the finding as the table prints it.
	Text string `json:"text"`
}

// lintUnchecked is a reference left for the cluster to settle.
type lintUnchecked struct {
	policies.MeshRef
	File string `json:"file,omitempty"`
}

// lintAll renders each target and runs the guardrails on it, without the cluster.
func lintAll(ctx context.Context, targets []lintTarget) []lintReport {
	reports := make([]lintReport, 0, len(targets))
	for _, t := range targets {
		r := lintReport{Target: t.name, App: t.app, Cluster: t.cluster, Findings: []lintFinding{}}
		m, err := t.render(ctx)
		if err != nil {
			r.Error = err.Error()
			reports = append(reports, r)
			continue
		}
		r.Path = m.Path
		report := policies.NewMesh(m.Objects, policies.MeshOptions{DefaultNamespace: t.namespace}).Check(nil)
		fileOf := originFiles(t.origins)
		for _, f := range report.Findings {
			file := fileOf(f.Object, f.Field)
			r.Findings = append(r.Findings, lintFinding{MeshFinding: f, Name: policies.CodeName(f.Code), File: file, Text: f.Format(file)})
			if f.Severity == policies.SeverityError {
				r.Errors++
			} else {
				r.Warnings++
			}
		}
		for _, ref := range report.Unknown {
			r.Unchecked = append(r.Unchecked, lintUnchecked{MeshRef: ref, File: fileOf(ref.From, ref.Field)})
		}
		reports = append(reports, r)
	}
	return reports
}

// originFiles returns the file to name for a field of an object, rendering once more with
// origin tracking on first use (only when there is something to say).
func originFiles(origins func() map[object.ID]render.Origin) func(object.ID, string) string {
	var byID map[object.ID]render.Origin
	return func(id object.ID, field string) string {
		if origins == nil {
			return ""
		}
		if byID == nil {
			byID = origins()
		}
		origin, ok := byID[id]
		if !ok { // the render names no namespace; the finding names the one it goes to
			origin = byID[object.ID{Group: id.Group, Kind: id.Kind, Name: id.Name}]
		}
		if field != "" {
			field = "." + field
		}
		return origin.FileOf(field)
	}
}

// printLint prints the findings as istioctl analyze does, under the name of each render when
// there are several, then what was left unchecked and a count.
func printLint(w io.Writer, reports []lintReport) {
	var errs, warnings, failed int
	for i, r := range reports {
		if len(reports) > 1 {
			if i > 0 {
				fmt.Fprintln(w)
			}
			fmt.Fprintf(w, "%s:\n", r.Target)
		}
		switch {
		case r.Error != "":
			failed++
			fmt.Fprintf(w, "Error: does not render: %s\n", strings.ReplaceAll(r.Error, "\n", "\n  "))
			continue
		case len(r.Findings) == 0:
			fmt.Fprintln(w, "✔ No validation issues found.")
		}
		for _, f := range r.Findings {
			fmt.Fprintln(w, f.Text)
		}
		for i := 0; i < len(r.Unchecked); {
			u := r.Unchecked[i]
			what := []string{u.MeshRef.String()}
			for i++; i < len(r.Unchecked) && r.Unchecked[i].From == u.From && r.Unchecked[i].Field == u.Field; i++ {
				what = append(what, r.Unchecked[i].MeshRef.String()) // either would do: a Service or a ServiceEntry
			}
			file := ""
			if u.File != "" {
				file = " " + u.File + ":"
			}
			fmt.Fprintf(w, "Info (%s %s.%s)%s %s: %s: not in the render; not checked (no cluster access: a sync checks it)\n",
				u.From.Kind, u.From.Name, u.From.Namespace, file, u.Field, strings.Join(what, " or "))
		}
		errs += r.Errors
		warnings += r.Warnings
	}
	fmt.Fprintln(w)
	summary := fmt.Sprintf("%s, %s in %s", count(errs, "error"), count(warnings, "warning"), count(len(reports), "render"))
	if failed > 0 {
		summary += fmt.Sprintf(" (%d did not render)", failed)
	}
	fmt.Fprintln(w, summary)
}

// count is "1 error", "2 errors".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
