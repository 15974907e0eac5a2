package config

import (
	"strings"
	"testing"
)

// TestInertWarnings: one warning per setting written out that nothing acts on yet, naming who
// writes it; settings left to their defaults do not warn, nor do settings something acts
// on (spec.drift.mode decides who wins a conflict in sync; the agent polls on spec.interval
// and applies what spec.sync.automated allows; spec.windows hold syncs; spec.rollout.waves
// roll out wave by wave).
func TestInertWarnings(t *testing.T) {
	source := func(name, extra string) string {
		return "apiVersion: flotilla.dev/v1alpha1\nkind: Source\nmetadata: {name: " + name + "}\nspec:\n  url: https://git.example.com/fleet.git\n  ref: {branch: main}\n" + extra + "---\n"
	}
	app := func(name, extra string) string {
		return "apiVersion: flotilla.dev/v1alpha1\nkind: App\nmetadata: {name: " + name + "}\nspec:\n  source: fleet\n  path: app\n" + extra + "---\n"
	}
	var doc strings.Builder
	doc.WriteString(source("fleet", "  interval: 5m\n"))
	doc.WriteString(source("defaults", ""))
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		extra := "  sync: {automated: true}\n  windows: [{kind: deny, schedule: \"0 22 * * *\", duration: 8h}]\n  rollout: {waves: [{name: canary}]}\n"
		if name == "a" {
			extra += "  drift: {mode: enforce}\n"
		}
		doc.WriteString(app(name, extra))
	}
	doc.WriteString(app("plain", ""))
	cfg, err := LoadBytes("flotilla.yaml", []byte(strings.TrimSuffix(doc.String(), "---\n")))
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.InertWarnings()
	var want []string // spec.rollout acts too now: waves in the agent
	if len(got) != len(want) {
		t.Fatalf("warnings:\n%s", strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("warning %d = %q, want it to start with %q", i, got[i], want[i])
		}
	}
}
