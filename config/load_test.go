package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const validConfig = `apiVersion: flotilla.dev/v1alpha1
kind: Source
metadata:
  name: fleet
spec:
  url: https://git.example.com/fleet.git
  ref:
    semver: ">=1.0.0 <2.0.0"
  auth:
    basic:
      username: bot
      password: {file: secrets/git-password}
  verify:
    mode: tag
    sshKeys: [keys/release.pub]
---
apiVersion: flotilla.dev/v1alpha1
kind: Cluster
metadata:
  name: dev-1
  labels: {env: dev, region: eu}
spec:
  kubeconfig: kube/dev.yaml
  context: local-1
---
apiVersion: flotilla.dev/v1alpha1
kind: App
metadata:
  name: shop
spec:
  source: fleet
  path: overlays/{{ .Cluster.Labels.env }}
  clusterSelector:
    matchLabels: {region: eu}
    matchExpressions:
    - {key: env, operator: In, values: [dev, staging]}
  sync: {automated: true, prune: true}
  health: {timeout: 5m, autoRollback: true}
  drift: {mode: enforce}
  windows:
  - {kind: deny, schedule: "0 22 * * 5", duration: 60h}
`

func TestLoadValidConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "flotilla.yaml")
	if err := os.WriteFile(path, []byte(validConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Sources: []Source{{
			TypeMeta: TypeMeta{APIVersion: APIVersion, Kind: KindSource},
			Metadata: ObjectMeta{Name: "fleet"},
			Spec: SourceSpec{
				URL:      "https://git.example.com/fleet.git",
				Ref:      GitRef{Semver: ">=1.0.0 <2.0.0"},
				Interval: Duration{DefaultInterval},
				Auth:     &GitAuth{Basic: &BasicAuth{Username: "bot", Password: SecretRef{File: filepath.Join(dir, "secrets/git-password")}}},
				Verify:   &Verification{Mode: VerifyTag, SSHKeys: []string{filepath.Join(dir, "keys/release.pub")}},
			},
		}},
		Clusters: []Cluster{{
			TypeMeta: TypeMeta{APIVersion: APIVersion, Kind: KindCluster},
			Metadata: ObjectMeta{Name: "dev-1", Labels: map[string]string{"env": "dev", "region": "eu"}},
			Spec:     ClusterSpec{Kubeconfig: filepath.Join(dir, "kube/dev.yaml"), Context: "local-1"},
		}},
		Apps: []App{{
			TypeMeta: TypeMeta{APIVersion: APIVersion, Kind: KindApp},
			Metadata: ObjectMeta{Name: "shop"},
			Spec: AppSpec{
				Source: "fleet",
				Path:   "overlays/{{ .Cluster.Labels.env }}",
				ClusterSelector: metav1.LabelSelector{
					MatchLabels:      map[string]string{"region": "eu"},
					MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: metav1.LabelSelectorOpIn, Values: []string{"dev", "staging"}}},
				},
				Sync:    SyncPolicy{Automated: true, Prune: true},
				Health:  HealthPolicy{Timeout: Duration{5 * time.Minute}, AutoRollback: true},
				Drift:   DriftPolicy{Mode: DriftEnforce},
				Windows: []SyncWindow{{Kind: WindowDeny, Schedule: "0 22 * * 5", Duration: Duration{60 * time.Hour}}},
			},
		}},
	}
	if diff := cmp.Diff(want, cfg, cmpopts.IgnoreTypes(Origin{})); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
	if o := cfg.Apps[0].Origin; o.File != path || o.Line != 26 || o.Document != 3 || o.LineOf("spec.drift.mode") != 39 {
		t.Errorf("App origin = %+v, line of spec.drift.mode %d; want %s:26, document 3, line 39", o, o.LineOf("spec.drift.mode"), path)
	}
	got, err := cfg.Apps[0].PathFor(cfg.Cluster("dev-1"))
	if err != nil || got != "overlays/dev" {
		t.Errorf("PathFor(dev-1) = %q, %v; want overlays/dev", got, err)
	}
}

// doc wraps a spec in a document of the given kind and name.
func doc(kind, name, body string) string {
	return "apiVersion: flotilla.dev/v1alpha1\nkind: " + kind + "\nmetadata:\n  name: " + name + "\n" + body
}

const goodSource = "spec:\n  url: https://git.example.com/r.git\n  ref: {branch: main}\n"

func TestLoadReportsProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each must appear, in order, in the error
	}{
		{
			name: "unknown field with line",
			yaml: doc("Source", "s", goodSource+"  refs: {}\n"),
			want: []string{"c.yaml:8: Source/s: spec.refs: unknown field"},
		},
		{
			name: "inline password is refused and not echoed",
			yaml: doc("Source", "s", goodSource+"  auth:\n    basic:\n      username: u\n      password: hunter2\n"),
			want: []string{"c.yaml:11: Source/s: spec.auth.basic.password: credentials are never inline"},
		},
		{
			name: "password in URL",
			yaml: doc("Source", "s", "spec:\n  url: https://u:hunter2@git.example.com/r.git\n  ref: {branch: main}\n"),
			want: []string{"c.yaml:6: Source/s: spec.url: holds a password; credentials are never inline"},
		},
		{
			name: "two refs",
			yaml: doc("Source", "s", "spec:\n  url: https://x/r.git\n  ref: {branch: main, tag: v1}\n"),
			want: []string{"c.yaml:7: Source/s: spec.ref: set exactly one of branch, tag, semver or commit (found 2)"},
		},
		{
			name: "bad semver range",
			yaml: doc("Source", "s", "spec:\n  url: https://x/r.git\n  ref: {semver: \">=banana\"}\n"),
			want: []string{"Source/s: spec.ref.semver: \">=banana\" is not a semver range"},
		},
		{
			name: "short commit",
			yaml: doc("Source", "s", "spec:\n  url: https://x/r.git\n  ref: {commit: abc123}\n"),
			want: []string{"spec.ref.commit: \"abc123\" is not a full 40-character lowercase commit SHA"},
		},
		{
			name: "credentials over plain http",
			yaml: doc("Source", "s", "spec:\n  url: http://git.example.com/r.git\n  ref: {branch: main}\n  auth: {token: {env: T}}\n"),
			want: []string{"spec.auth: refusing to send credentials over plain http:// to git.example.com"},
		},
		{
			name: "credentials over plain http, scheme in capitals",
			yaml: doc("Source", "s", "spec:\n  url: HTTP://git.example.com/r.git\n  ref: {branch: main}\n  auth: {token: {env: T}}\n"),
			want: []string{"spec.auth: refusing to send credentials over plain http:// to git.example.com"},
		},
		{
			name: "ssh without known hosts",
			yaml: doc("Source", "s", "spec:\n  url: git@git.example.com:r.git\n  ref: {branch: main}\n  auth: {ssh: {privateKey: {file: k}}}\n"),
			want: []string{"spec.auth.ssh.knownHosts: is required"},
		},
		{
			name: "missing source",
			yaml: doc("App", "a", "spec:\n  source: nope\n  path: p\n"),
			want: []string{"c.yaml:6: App/a: spec.source: Source \"nope\" is not defined"},
		},
		{
			name: "bad selector operator",
			yaml: doc("Source", "s", goodSource) + "---\n" + doc("App", "a", "spec:\n  source: s\n  path: p\n  clusterSelector:\n    matchExpressions: [{key: env, operator: Near, values: [x]}]\n"),
			want: []string{"App/a: spec.clusterSelector: \"Near\" is not a valid label selector operator"},
		},
		{
			name: "bad path template",
			yaml: doc("Source", "s", goodSource) + "---\n" + doc("App", "a", "spec:\n  source: s\n  path: \"o/{{ .Cluster.Labels.env }\"\n"),
			want: []string{"App/a: spec.path: bad template"},
		},
		{
			name: "duplicate name",
			yaml: doc("Source", "s", goodSource) + "---\n" + doc("Source", "s", goodSource),
			want: []string{"c.yaml:12: Source/s: metadata.name: \"s\" is defined twice; first at c.yaml:1"},
		},
		{
			name: "wrong type",
			yaml: doc("Source", "s", goodSource+"  allowRemoteBases: \"yes please\"\n"),
			want: []string{"c.yaml:8: Source/s: spec.allowRemoteBases: expected true or false"},
		},
		{
			name: "bad duration and schedule",
			yaml: doc("Source", "s", goodSource) + "---\n" + doc("App", "a", "spec:\n  source: s\n  path: p\n  health: {timeout: 5 minutes}\n"),
			want: []string{"c.yaml:16: App/a: spec.health.timeout: \"5 minutes\" is not a duration"},
		},
		{
			name: "prune limit out of range",
			yaml: doc("Source", "s", goodSource) + "---\n" + doc("App", "a", "spec:\n  source: s\n  path: p\n  sync: {prune: true, maxPrunePercent: 150}\n"),
			want: []string{"c.yaml:16: App/a: spec.sync.maxPrunePercent: 150 is not a percentage from 1 to 100"},
		},
		{
			name: "bad window",
			yaml: doc("Source", "s", goodSource) + "---\n" + doc("App", "a", "spec:\n  source: s\n  path: p\n  windows: [{kind: maybe, schedule: \"every day\", duration: 1h}]\n"),
			want: []string{"spec.windows[0].kind: \"maybe\" is not", "spec.windows[0].schedule: \"every day\" is not a cron schedule"},
		},
		{
			name: "windows that cannot work",
			yaml: doc("Source", "s", goodSource) + "---\n" + doc("App", "a", "spec:\n  source: s\n  path: p\n  windows:\n  - {kind: deny, schedule: \"@every 2h\", duration: 1h}\n  - {kind: allow, schedule: \"0 9 * * *\", duration: 1h, timeZone: Mars/Olympus}\n"),
			want: []string{"spec.windows[0].schedule: @every counts from whenever it is asked", "spec.windows[1].timeZone: \"Mars/Olympus\" is not a time zone"},
		},
		{
			name: "unknown kind and apiVersion",
			yaml: "apiVersion: flotilla.dev/v1alpha1\nkind: Gadget\nmetadata: {name: g}\n---\napiVersion: v1\nkind: App\nmetadata: {name: a}\n",
			want: []string{"c.yaml:1: Gadget/g: kind: unknown kind \"Gadget\"", "c.yaml:5: App/a: apiVersion: \"v1\" is not flotilla.dev/v1alpha1"},
		},
		{
			name: "invalid YAML",
			yaml: "apiVersion: flotilla.dev/v1alpha1\nkind: App\nmetadata:\n  name: [unclosed\n",
			want: []string{"c.yaml:3: not valid YAML: did not find expected ',' or ']'"},
		},
		{
			name: "key written twice",
			yaml: doc("Source", "s", goodSource+"  url: https://other/r.git\n"),
			want: []string{"c.yaml:8: Source/s: spec.url: written twice; first at line 6"},
		},
		{
			name: "bad label",
			yaml: doc("Cluster", "c", "  labels: {\"bad key!\": x}\nspec: {kubeconfig: k}\n"),
			want: []string{"Cluster/c: metadata.labels.bad key!: label key"},
		},
		{
			name: "bad name",
			yaml: doc("Cluster", "Not_OK", "spec: {kubeconfig: k}\n"),
			want: []string{"Cluster/Not_OK: metadata.name: \"Not_OK\" is not a valid name"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadBytes("c.yaml", []byte(tt.yaml))
			var cfgErr *Error
			if !errors.As(err, &cfgErr) {
				t.Fatalf("LoadBytes: err = %v, want *config.Error", err)
			}
			msg := err.Error()
			rest := msg
			for _, want := range tt.want {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Fatalf("error does not contain %q (in order):\n%s", want, msg)
				}
				rest = rest[i+len(want):]
			}
			if strings.Contains(msg, "hunter2") {
				t.Errorf("error shows a secret value:\n%s", msg)
			}
		})
	}
}

func TestLoadAliasBombIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: flotilla.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: c\n  labels:\n    a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		b.WriteString("    a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	b.WriteString("spec: {kubeconfig: k}\n")
	start := time.Now()
	_, err := LoadBytes("bomb.yaml", []byte(b.String()))
	if err == nil {
		t.Fatal("an alias bomb loaded without error")
	}
	if !strings.Contains(err.Error(), "bomb.yaml") {
		t.Errorf("error does not name the file: %v", err)
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("rejecting the alias bomb took %s", elapsed)
	}
}

func TestLoadFolderReadsEveryYAMLFile(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"1-sources.yaml": doc("Source", "s", goodSource),
		"2-apps.yml":     doc("App", "a", "spec:\n  source: s\n  path: p\n"),
		"notes.txt":      "not configuration",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Sources) != 1 || len(cfg.Apps) != 1 || cfg.App("a").Spec.Source != "s" {
		t.Errorf("Load(folder) = %+v", cfg)
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "holds no .yaml or .yml file") {
		t.Errorf("Load(empty folder): err = %v", err)
	}
}

func TestPathForMissingLabel(t *testing.T) {
	app := &App{Metadata: ObjectMeta{Name: "a"}, Spec: AppSpec{Path: "overlays/{{ .Cluster.Labels.env }}"}}
	_, err := app.PathFor(&Cluster{Metadata: ObjectMeta{Name: "c1"}})
	if err == nil || !strings.Contains(err.Error(), "Cluster/c1") || !strings.Contains(err.Error(), `"env"`) {
		t.Errorf("PathFor without the label: err = %v; want it to name Cluster/c1 and the env label", err)
	}
	got, err := (&App{Spec: AppSpec{Path: "clusters/{{ .Cluster.Name }}"}}).PathFor(&Cluster{Metadata: ObjectMeta{Name: "c1"}})
	if err != nil || got != "clusters/c1" {
		t.Errorf("PathFor(name) = %q, %v", got, err)
	}
}

// FuzzLoadBytes feeds arbitrary bytes to the loader: it must never panic, and anything it accepts
// must have names.
func FuzzLoadBytes(f *testing.F) {
	f.Add([]byte(validConfig))
	f.Add([]byte(doc("Source", "s", goodSource)))
	f.Add([]byte("a: &a [*a]"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := LoadBytes("fuzz.yaml", data)
		if err != nil {
			return
		}
		for _, s := range cfg.Sources {
			if s.Metadata.Name == "" {
				t.Fatalf("accepted a Source without a name")
			}
		}
	})
}

// TestAppNamespaceMustBeANamespaceName: spec.namespace is checked at load, at its line.
func TestAppNamespaceMustBeANamespaceName(t *testing.T) {
	doc := "apiVersion: flotilla.dev/v1alpha1\nkind: Source\nmetadata: {name: fleet}\nspec: {url: https://git.example.com/fleet.git, ref: {branch: main}}\n---\n" +
		"apiVersion: flotilla.dev/v1alpha1\nkind: App\nmetadata: {name: web}\nspec:\n  source: fleet\n  path: app\n  namespace: Not_A_Namespace\n"
	_, err := LoadBytes("flotilla.yaml", []byte(doc))
	if err == nil || !strings.Contains(err.Error(), "spec.namespace") || !strings.Contains(err.Error(), "Not_A_Namespace") {
		t.Fatalf("error %v, want one naming spec.namespace and the value", err)
	}
}
