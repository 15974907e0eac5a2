package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// appWithPath is a configuration of one Source and one App whose spec.path is path.
func appWithPath(path string) string {
	return doc("Source", "s", goodSource) + "---\n" + doc("App", "web", "spec:\n  source: s\n  path: "+quoteYAML(path)+"\n")
}

func TestLoadRefusesPathTemplateConstructs(t *testing.T) {
	const hint = "use field access such as {{ .Cluster.Labels.env }} or index"
	tests := []struct {
		name, path, want string
	}{
		{"printf", `{{ printf "%s" .Cluster.Name }}`, `App/web: spec.path: function "printf" is not allowed; ` + hint},
		{"nested printf", `{{ printf "%s%s" (printf "%s%s" .Cluster.Name .Cluster.Name) .Cluster.Name }}`, `function "printf" is not allowed`},
		{"print in a pipeline", `{{ .Cluster.Name | print }}`, `function "print" is not allowed`},
		{"len", `{{ len .Cluster.Labels }}`, `function "len" is not allowed`},
		{"call", `{{ call .Cluster.Name }}`, `function "call" is not allowed`},
		{"slice", `{{ slice .Cluster.Name 1 }}`, `function "slice" is not allowed`},
		{"eq", `{{ eq .Cluster.Name "x" }}`, `function "eq" is not allowed`},
		{"html", `{{ html .Cluster.Name }}`, `function "html" is not allowed`},
		{"if", `{{ if .Cluster.Name }}a{{ end }}`, "spec.path: {{ if }} is not allowed; " + hint},
		{"range", `{{ range .Cluster.Labels }}a{{ end }}`, "spec.path: {{ range }} is not allowed"},
		{"with", `{{ with .Cluster.Name }}a{{ end }}`, "spec.path: {{ with }} is not allowed"},
		{"define", `{{ define "x" }}a{{ end }}overlays/{{ .Cluster.Name }}`, "spec.path: {{ define }} and {{ block }} are not allowed"},
		{"block", `{{ block "x" . }}a{{ end }}`, "spec.path: {{ define }} and {{ block }} are not allowed"},
		{"template", `{{ template "path" . }}`, "spec.path: {{ template }} is not allowed"},
		{"variable", `{{ $x := .Cluster.Name }}{{ $x }}`, "spec.path: variables ($x) are not allowed"},
		{"root variable", `{{ $.Cluster.Name }}`, "spec.path: variables ($) are not allowed"},
		{"dot", `{{ . }}`, "spec.path: {{ . }} is not allowed"},
		{"parentheses", `{{ (.Cluster).Name }}`, "spec.path: parentheses are not allowed"},
		{"long pipeline", `{{ .Cluster.Name | lower | upper | lower }}`, "spec.path: a pipeline of 4 commands is not allowed (at most 3)"},
		{"unknown field", `{{ .Cluster.Nmae }}`, "spec.path: field .Cluster.Nmae is not defined; use .Cluster.Name, .Cluster.Labels.KEY or index .Cluster.Labels \"KEY\""},
		{"labels map", `{{ .Cluster.Labels }}`, "spec.path: field .Cluster.Labels is not defined"},
		{"too deep", `{{ .Cluster.Labels.env.x }}`, "spec.path: field .Cluster.Labels.env.x is not defined"},
		{"number", `{{ 12 }}`, "spec.path: 12 is not allowed; only quoted label keys"},
		{"index of a number", `{{ index .Cluster.Labels 1 }}`, `spec.path: index takes .Cluster.Labels and a quoted label key`},
		{"index of the name", `{{ index .Cluster.Name "x" }}`, `spec.path: index takes .Cluster.Labels and a quoted label key`},
		{"lower of two", `{{ lower .Cluster.Name .Cluster.Name }}`, "spec.path: lower takes one value"},
		{"field with an argument", `{{ .Cluster.Name "x" }}`, "spec.path: .Cluster.Name takes no arguments"},
		{"absolute", `/etc/{{ .Cluster.Name }}`, "spec.path: is absolute"},
		{"climbs out", `overlays/../../{{ .Cluster.Name }}`, `spec.path: climbs out of the repository with ".."`},
		{"control character", "overlays/\x1b[31m{{ .Cluster.Name }}", "spec.path: holds a control character"},
		{"empty result", `{{/* nothing */}}`, "spec.path: is empty"},
		{"too long", strings.Repeat("a", MaxPathLength+1), "spec.path: longer than 4096 bytes"},
		{"syntax", `o/{{ .Cluster.Labels.env }`, "spec.path: bad template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadBytes("c.yaml", []byte(appWithPath(tt.path)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("path %q: err = %v\nwant it to contain %q", tt.path, err, tt.want)
			}
		})
	}
}

func TestPathForAllowedTemplates(t *testing.T) {
	cluster := &Cluster{Metadata: ObjectMeta{Name: "prod-1", Labels: map[string]string{
		"env": "Prod", "topology.kubernetes.io/region": "eu-west-1",
	}}}
	tests := []struct {
		path, want string
	}{
		{"overlays/prod", "overlays/prod"},
		{"clusters/{{ .Cluster.Name }}", "clusters/prod-1"},
		{"overlays/{{ .Cluster.Labels.env }}", "overlays/Prod"},
		{"overlays/{{ .Cluster.Labels.env | lower }}", "overlays/prod"},
		{"overlays/{{ lower .Cluster.Labels.env }}", "overlays/prod"},
		{"{{ upper .Cluster.Name }}", "PROD-1"},
		{`regions/{{ index .Cluster.Labels "topology.kubernetes.io/region" }}`, "regions/eu-west-1"},
		{`regions/{{ index .Cluster.Labels "topology.kubernetes.io/region" | upper }}/{{/* comment */}}x`, "regions/EU-WEST-1/x"},
		{"./overlays/{{ .Cluster.Labels.env }}/", "./overlays/Prod/"},
	}
	for _, tt := range tests {
		_, err := LoadBytes("c.yaml", []byte(appWithPath(tt.path)))
		if err != nil {
			t.Errorf("path %q refused: %v", tt.path, err)
			continue
		}
		app := &App{Metadata: ObjectMeta{Name: "web"}, Spec: AppSpec{Path: tt.path}}
		if got, err := app.PathFor(cluster); err != nil || got != tt.want {
			t.Errorf("PathFor(%q) = %q, %v; want %q", tt.path, got, err, tt.want)
		}
	}
}

// TestPathForChecksTemplates: PathFor applies the same checks as Load to an App that was never
// validated, before executing anything, and bounds what a template may write.
func TestPathForChecksTemplates(t *testing.T) {
	long := &Cluster{Metadata: ObjectMeta{Name: strings.Repeat("n", 63), Labels: map[string]string{"empty": "", "env": "dev"}}}
	tests := []struct {
		name, path, want string
	}{
		{"printf width bomb", `{{ printf "%0100000000d" 0 }}`, `App/web: spec.path: function "printf" is not allowed`}, // 100 MB, if it ran
		{"output bound", strings.Repeat("{{.Cluster.Name}}", 100), "for Cluster/" + long.Metadata.Name + ": template output longer than 4096 bytes"},
		{"missing label", `{{ .Cluster.Labels.region }}`, `the cluster has no label "region" (its labels: empty, env)`},
		{"missing label via index", `{{ index .Cluster.Labels "topology.kubernetes.io/zone" }}`, `the cluster has no label "topology.kubernetes.io/zone"`},
		{"empty label climbs out", `..{{ .Cluster.Labels.empty }}/x`, `resolved path "../x" climbs out of the repository with ".."`},
		{"empty label makes an absolute path", `{{ .Cluster.Labels.empty }}/x`, `resolved path "/x" is absolute`},
		{"empty label makes an empty path", `{{ .Cluster.Labels.empty }}`, `resolved path "" is empty`},
		{"absolute", `/{{ .Cluster.Labels.env }}`, `App/web: spec.path: is absolute`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := &App{Metadata: ObjectMeta{Name: "web"}, Spec: AppSpec{Path: tt.path}}
			start := time.Now()
			got, err := app.PathFor(long)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("PathFor = %.80q, %v\nwant an error containing %q", got, err, tt.want)
			}
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("PathFor took %s", elapsed)
			}
		})
	}
}

// TestPathLengthBound: MaxPathLength (4096 bytes) bounds both the template's text and the path
// it resolves to: each at the bound is accepted by Load and PathFor, a byte over is refused by
// both, naming the bound.
func TestPathLengthBound(t *testing.T) {
	name := strings.Repeat("n", 63) // the longest cluster name
	cluster := &Cluster{Metadata: ObjectMeta{Name: name, Labels: map[string]string{"env": "dev"}}}
	const action = "{{ .Cluster.Name }}"
	tests := []struct {
		name, path     string
		want, wantLoad string // from PathFor and from Load; "" when accepted
	}{
		{name: "text one under the bound", path: strings.Repeat("a", MaxPathLength-1)},
		{name: "text at the bound", path: strings.Repeat("a", MaxPathLength)},
		{name: "text one over the bound", path: strings.Repeat("a", MaxPathLength+1), want: "App/web: spec.path: longer than 4096 bytes", wantLoad: "c.yaml:22: App/web: spec.path: longer than 4096 bytes"},
		{name: "output one under the bound", path: strings.Repeat("a", MaxPathLength-len(name)-1) + action},
		{name: "output at the bound", path: strings.Repeat("a", MaxPathLength-len(name)) + action},
		{name: "output one over the bound", path: strings.Repeat("a", MaxPathLength-len(name)+1) + action, want: "for Cluster/" + name + ": template output longer than 4096 bytes",
			wantLoad: "c.yaml:22: App/web: spec.path: for Cluster/" + name + " (line 13): template output longer than 4096 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.path) > MaxPathLength && tt.want == "" {
				t.Fatalf("the template itself is %d bytes, over the bound", len(tt.path))
			}
			app := &App{Metadata: ObjectMeta{Name: "web"}, Spec: AppSpec{Path: tt.path}}
			got, err := app.PathFor(cluster)
			yaml := doc("Source", "s", goodSource) + "---\n" + doc("Cluster", name, "  labels: {env: dev}\nspec: {kubeconfig: k}\n") +
				"---\n" + doc("App", "web", "spec:\n  source: s\n  path: "+quoteYAML(tt.path)+"\n")
			_, loadErr := LoadBytes("c.yaml", []byte(yaml))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("PathFor refused a template of %d bytes: %v", len(tt.path), err)
				}
				want := strings.ReplaceAll(tt.path, action, name)
				if got != want {
					t.Errorf("PathFor = %d bytes, want %d", len(got), len(want))
				}
				if loadErr != nil {
					t.Errorf("Load refused it: %v", loadErr)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("PathFor = %d bytes, %v\nwant an error containing %q", len(got), err, tt.want)
			}
			if loadErr == nil || !strings.Contains(loadErr.Error(), tt.wantLoad) {
				t.Errorf("Load: err = %v\nwant it to contain %q", loadErr, tt.wantLoad)
			}
		})
	}
}

// FuzzPathFor: whatever the template, PathFor never panics, and a path it returns is bounded,
// relative and inside the repository.
func FuzzPathFor(f *testing.F) {
	f.Add("overlays/{{ .Cluster.Labels.env | lower }}")
	f.Add(`{{ index .Cluster.Labels "a/b" }}/{{ .Cluster.Name }}`)
	f.Add(`{{ printf "%09999d" 0 }}`)
	f.Add(`{{ range $k, $v := .Cluster.Labels }}{{ $k }}{{ end }}`)
	cluster := &Cluster{Metadata: ObjectMeta{Name: "c1", Labels: map[string]string{"env": "", "a/b": "x"}}}
	f.Fuzz(func(t *testing.T, path string) {
		app := &App{Metadata: ObjectMeta{Name: "a"}, Spec: AppSpec{Path: path}}
		got, err := app.PathFor(cluster)
		if err != nil {
			return
		}
		if len(got) > MaxPathLength || pathProblem(got) != "" {
			t.Fatalf("PathFor(%q) = %q", path, got)
		}
	})
}

// TestLoadChecksPathForSelectedClusters: a path template is resolved at load time for every
// Cluster the App selects, so a label key typo is reported at the App's spec.path line, naming
// the clusters without the label and the key they do have.
func TestLoadChecksPathForSelectedClusters(t *testing.T) {
	cluster := func(name, labels string) string {
		return "---\n" + doc("Cluster", name, "  labels: "+labels+"\nspec: {kubeconfig: k}\n")
	}
	clusters := cluster("dev-1", "{env: dev}") + cluster("dev-2", "{env: dev}") + cluster("prod-1", "{env: prod, region: eu}")
	app := func(path, selector string) string {
		return "---\n" + doc("App", "web", "spec:\n  source: s\n  path: "+quoteYAML(path)+"\n"+selector)
	}
	tests := []struct {
		name, yaml string
		want       []string // each must appear in the error; none means Load accepts it
	}{
		{"label typo", app("overlays/{{ .Cluster.Labels.evn }}", ""), []string{
			`c.yaml:36: App/web: spec.path: label "evn" is not set on 3 selected clusters: Cluster/dev-1 (line 13), Cluster/dev-2 (line 20), Cluster/prod-1 (line 27); labels they have: env, region; did you mean "env"? Fix the key in spec.path, or add the label to the Cluster`,
		}},
		{"label only some have", app(`regions/{{ index .Cluster.Labels "region" }}`, ""), []string{
			`c.yaml:36: App/web: spec.path: label "region" is not set on 2 selected clusters: Cluster/dev-1 (line 13), Cluster/dev-2 (line 20); labels they have: env; fix the key`,
		}},
		{"the selector leaves out clusters without the label", app("regions/{{ .Cluster.Labels.region }}", "  clusterSelector: {matchLabels: {env: prod}}\n"), nil},
		{"one selected cluster", app("{{ .Cluster.Labels.regoin }}", "  clusterSelector: {matchLabels: {env: prod}}\n"), []string{
			`App/web: spec.path: label "regoin" is not set on the selected Cluster/prod-1 (line 27); its labels: env, region; did you mean "region"?`,
		}},
		{"name typo is caught by the template check", app("clusters/{{ .Cluster.Nme }}", ""), []string{
			`c.yaml:36: App/web: spec.path: field .Cluster.Nme is not defined; use .Cluster.Name`,
		}},
		{"a selector no cluster matches", app("{{ .Cluster.Labels.nothing }}", "  clusterSelector: {matchLabels: {env: qa}}\n"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadBytes("c.yaml", []byte(doc("Source", "s", goodSource)+clusters+tt.yaml))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Load refused it: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load accepted it; want %q", tt.want)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v\nwant it to contain %q", err, want)
				}
			}
		})
	}
}

// TestLoadChecksResolvedPathForSelectedClusters: a label value that makes the resolved path
// absolute is reported at load time too, naming the cluster.
func TestLoadChecksResolvedPathForSelectedClusters(t *testing.T) {
	yaml := doc("Source", "s", goodSource) + "---\n" + doc("Cluster", "c1", "  labels: {env: \"\"}\nspec: {kubeconfig: k}\n") +
		"---\n" + doc("App", "web", "spec:\n  source: s\n  path: \"{{ .Cluster.Labels.env }}/x\"\n")
	_, err := LoadBytes("c.yaml", []byte(yaml))
	want := `c.yaml:22: App/web: spec.path: for Cluster/c1 (line 13): resolved path "/x" is absolute; give a folder relative to the repository's root; change the template or the Cluster's labels`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v\nwant it to contain %q", err, want)
	}
}

// TestLoadChecksPathAcrossFiles: a Cluster defined in another file of the folder is named with
// its file and line.
func TestLoadChecksPathAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"apps.yaml":     doc("Source", "s", goodSource) + "---\n" + doc("App", "web", "spec:\n  source: s\n  path: \"{{ .Cluster.Labels.evn }}\"\n"),
		"clusters.yaml": doc("Cluster", "c1", "  labels: {env: dev}\nspec: {kubeconfig: k}\n"),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Load(dir)
	want := filepath.Join(dir, "apps.yaml") + `:15: App/web: spec.path: label "evn" is not set on the selected Cluster/c1 (` + filepath.Join(dir, "clusters.yaml") + `:5); its labels: env; did you mean "env"?`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v\nwant it to contain %q", err, want)
	}
}
