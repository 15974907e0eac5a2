package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionText(t *testing.T) {
	vcs := func(settings ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i+1 < len(settings); i += 2 {
			out = append(out, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return out
	}
	const rev = "a43615e4233890625bd8e01a76ba3d60c47a0169"
	tests := []struct {
		name, ldVersion string
		info            *debug.BuildInfo
		want            string
	}{
		{"go run, or -buildvcs=false", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"(devel, built without VCS information; use make build)"},
		{"go build in a clone", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261201215028-a43615e42338"},
			Settings: vcs("vcs", "git", "vcs.revision", rev, "vcs.time", "2026-12-01T21:50:28Z", "vcs.modified", "false")},
			"v0.0.0-20261201215028-a43615e42338 (commit a43615e42338, committed 2026-12-01T21:50:28Z, go1.26.8)"},
		{"uncommitted changes", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261201215028-a43615e42338+dirty"},
			Settings: vcs("vcs.revision", rev, "vcs.time", "2026-12-01T21:50:28Z", "vcs.modified", "true")},
			"v0.0.0-20261201215028-a43615e42338+dirty (commit a43615e42338, with uncommitted changes, committed 2026-12-01T21:50:28Z, go1.26.8)"},
		{"version from -ldflags", "v1.4.0", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: vcs("vcs.revision", rev, "vcs.modified", "false")},
			"v1.4.0 (commit a43615e42338, go1.26.8)"},
		{"go install module@version", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}},
			"v1.4.0 (go1.26.8)"},
		{"no build information", "", nil, "(unknown: built without module information; use make build)"},
		{"no build information, version from -ldflags", "v1.4.0", nil, "v1.4.0"},
	}
	for _, tt := range tests {
		if got := versionText(tt.ldVersion, tt.info); got != tt.want {
			t.Errorf("%s: versionText = %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

// TestMakeBuildStampsVersion: `make build` stamps the commit even where GOFLAGS says
// -buildvcs=false, and FLOTILLA_VERSION sets the version.
func TestMakeBuildStampsVersion(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not in a Git clone: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "flotilla")
	build := exec.Command("make", "-C", "../..", "build", "BIN="+bin, "FLOTILLA_VERSION=v0.0.0-test")
	build.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "flotilla v0.0.0-test (commit " + string(head[:12])
	if !strings.HasPrefix(string(out), want) {
		t.Errorf("--version = %q, want it to start with %q", out, want)
	}
}
