package config

import (
	"strings"
	"testing"
	"time"
)

// TestInertWarnings: one warning per setting nothing acts on yet, naming who sets it.
func TestInertWarnings(t *testing.T) {
	cfg := &Config{Sources: []Source{{Metadata: ObjectMeta{Name: "fleet"}}}}
	cfg.Sources[0].Spec.Interval.Duration = time.Minute
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		app := App{Metadata: ObjectMeta{Name: name}}
		app.Spec.Sync.Automated = true
		cfg.Apps = append(cfg.Apps, app)
	}
	cfg.Apps[0].Spec.Drift.Mode = DriftEnforce
	got := cfg.InertWarnings()
	want := []string{
		"Source spec.interval (Source/fleet) is not acted on yet",
		"App spec.sync.automated (App/a, App/b, App/c and 2 more) is not acted on yet",
		"App spec.drift.mode (App/a) is not acted on yet",
	}
	if len(got) != len(want) {
		t.Fatalf("warnings:\n%s", strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("warning %d = %q, want it to start with %q", i, got[i], want[i])
		}
	}
	if w := (&Config{Apps: []App{{Metadata: ObjectMeta{Name: "plain"}}}}).InertWarnings(); len(w) != 0 {
		t.Errorf("a configuration without such settings warns: %v", w)
	}
}
