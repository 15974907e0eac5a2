package tree

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// linkedTree is a repository with in-repo folder symlinks, links that leave it and loops.
var linkedTree = struct{ files, links map[string]string }{
	files: map[string]string{
		"shared/base/kustomization.yaml": "resources: [cm.yaml]\n",
		"shared/base/configs/cm.yaml":    configMap,
		"apps/x/kustomization.yaml":      "resources: [base]\n",
	},
	links: map[string]string{
		"shared/base/cm.yaml": "configs/cm.yaml",
		"apps/x/base":         "../../shared/base",
		"apps/x/up":           "..",
		"apps/x/abs":          "/etc",
		"apps/x/out":          "../../..",
		"apps/x/sneaky":       "up/../../..", // inside as written, out once up is followed
		"apps/x/dangling":     "nowhere",
		"apps/x/file":         "../../shared/base/cm.yaml",
		"apps/x/via":          "base/../base/configs",
		"loop/a":              "b",
		"loop/b":              "a",
		"self":                "self",
	},
}

func TestRealPathFollowsSymlinksInsideTheRepository(t *testing.T) {
	for source, view := range views(t, linkedTree.files, linkedTree.links) {
		t.Run(source, func(t *testing.T) {
			for p, want := range map[string]string{
				"/apps/x":                     "/apps/x",
				"/apps/x/base":                "/shared/base",
				"/apps/x/base/":               "/shared/base",
				"/apps/x/base/cm.yaml":        "/shared/base/configs/cm.yaml",
				"/apps/x/base/missing/y.yaml": "/shared/base/missing/y.yaml",
				"/apps/x/up/x/up/x/base":      "/shared/base",
				"/apps/x/file":                "/shared/base/configs/cm.yaml",
				"/apps/x/via/cm.yaml":         "/shared/base/configs/cm.yaml",
				"/apps/x/dangling":            "/apps/x/nowhere",
				"/apps/x/dangling/y":          "/apps/x/nowhere/y",
				"/nonexistent/z":              "/nonexistent/z",
				"/":                           "/",
			} {
				if got, err := view.realPath(p); err != nil || got != want {
					t.Errorf("realPath(%q) = %q, %v; want %q", p, got, err, want)
				}
			}
			for p, want := range map[string]string{
				"/apps/x/abs":         "apps/x/abs: symlink to /etc leaves the repository; refused",
				"/apps/x/abs/passwd":  "apps/x/abs: symlink to /etc leaves the repository; refused",
				"/apps/x/out/etc":     "apps/x/out: symlink to ../../.. leaves the repository; refused",
				"/apps/x/sneaky":      "apps/x/sneaky: symlink to up/../../.. leaves the repository; refused",
				"/apps/x/up/x/out":    "apps/x/out: symlink to ../../.. leaves the repository; refused",
				"/loop/a":             "loop/a: too many levels of symlinks",
				"/loop/b/kustomize":   "loop/b/kustomize: too many levels of symlinks",
				"/self":               "self: too many levels of symlinks",
				"/apps/x/base/../out": "apps/x/out: symlink to ../../.. leaves the repository; refused", // cleaned first, as kustomize does
			} {
				if got, err := view.realPath(p); err == nil || err.Error() != want {
					t.Errorf("realPath(%q) = %q, %v; want the error %s", p, got, err, want)
				}
			}
			if escapes("/apps/x", "up/../../..") {
				t.Error("escapes is lexical: it does not see sneaky leave")
			}
		})
	}
}

// TestViewAnswersThroughSymlinkedFolders: every question kustomize asks is answered through
// in-repo symlinks, as on disk.
func TestViewAnswersThroughSymlinkedFolders(t *testing.T) {
	for source, view := range views(t, linkedTree.files, linkedTree.links) {
		t.Run(source, func(t *testing.T) {
			if !view.IsDir("/apps/x/base") || !view.Exists("/apps/x/base/cm.yaml") || view.IsDir("/apps/x/file") {
				t.Error("IsDir/Exists do not follow symlinks")
			}
			if view.Exists("/apps/x/abs") || view.Exists("/apps/x/dangling") || view.IsDir("/loop/a") {
				t.Error("Exists is true for a symlink that leaves, leads nowhere or loops")
			}
			names, err := view.ReadDir("/apps/x/base")
			slices.Sort(names)
			if err != nil || strings.Join(names, ",") != "cm.yaml,configs,kustomization.yaml" {
				t.Errorf("ReadDir = %q, %v", names, err)
			}
			if got, err := view.Glob("/apps/x/base/*.yaml"); err != nil || strings.Join(got, ",") != "/apps/x/base/cm.yaml,/apps/x/base/kustomization.yaml" {
				t.Errorf("Glob = %q, %v", got, err)
			}
			// Folders (and symlinks to folders) are not listed by Glob, as in kustomize's own
			// in-memory file system.
			if got, err := view.Glob("/apps/x/*"); err != nil || slices.Contains(got, "/apps/x/base") || !slices.Contains(got, "/apps/x/file") {
				t.Errorf("Glob(/apps/x/*) = %q, %v", got, err)
			}
			for name, want := range map[string]string{
				"/apps/x/base":         "/shared/base|",
				"/apps/x/base/cm.yaml": "/shared/base/configs|cm.yaml",
				"/apps/x/file":         "/shared/base/configs|cm.yaml",
				"/apps/x":              "/apps/x|",
			} {
				dir, file, err := view.CleanedAbs(name)
				if got := fmt.Sprintf("%s|%s", dir, file); err != nil || got != want {
					t.Errorf("CleanedAbs(%q) = %s, %v; want %s", name, got, err, want)
				}
			}
			if data, err := view.ReadFile("/apps/x/base/cm.yaml"); err != nil || string(data) != configMap {
				t.Errorf("ReadFile through a folder symlink = %q, %v", data, err)
			}
			if _, err := view.ReadFile("/apps/x/dangling"); err == nil || err.Error() != "apps/x/dangling: symlink to nowhere, which does not exist" {
				t.Errorf("ReadFile of a dangling symlink: %v", err)
			}
			out, err := build(view, "/apps/x")
			if err != nil || !strings.Contains(out, "name: c") {
				t.Errorf("build through a folder symlink: %v\n%s", err, out)
			}
		})
	}
}

func TestHopLimit(t *testing.T) {
	chain := func(n int) *FS {
		files := map[string]string{"target.yaml": configMap}
		for i := range n {
			next := fmt.Sprintf("l%d", i+1)
			if i == n-1 {
				next = "target.yaml"
			}
			files[fmt.Sprintf("l%d@", i)] = "->" + next
		}
		view, err := FromFiles(files, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		return view
	}
	if _, err := chain(maxHops).ReadFile("/l0"); err != nil {
		t.Errorf("%d symlinks: %v", maxHops, err)
	}
	if _, err := chain(maxHops + 1).ReadFile("/l0"); err == nil || err.Error() != "l0: too many levels of symlinks" {
		t.Errorf("%d symlinks: %v", maxHops+1, err)
	}
}

// TestTraceSeesChangedSymlinkTargets: a render's trace replayed on a revision whose folder
// symlink points elsewhere does not match, and does on the same revision.
func TestTraceSeesChangedSymlinkTargets(t *testing.T) {
	files := func(target string) map[string]string {
		return map[string]string{
			"v1/kustomization.yaml": "resources: [cm.yaml]\n", "v1/cm.yaml": configMap,
			"v2/kustomization.yaml": "resources: [cm.yaml]\n", "v2/cm.yaml": strings.Replace(configMap, "a: b", "a: c", 1),
			"v3/kustomization.yaml": "resources: [cm.yaml]\n", "v3/cm.yaml@": "->../v1/cm.yaml",
			"app/kustomization.yaml": "resources: [base]\n", "app/base@": "->" + target,
		}
	}
	view, err := FromFiles(files("../v1"), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	recording, trace := view.Recording()
	if _, err := build(recording, "/app"); err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]bool{"../v1": true, "../v2": false, "../v3": false, "../v1/": true, "../app/../v1": true, "/v1": false, "../nowhere": false} {
		other, err := FromFiles(files(target), DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if got := trace.Matches(other); got != want {
			t.Errorf("link to %s: Matches = %v, want %v", target, got, want)
		}
	}
}

// TestTraceRecordsRefusedReads: a read that fails is recorded too, since kustomize may swallow
// the error (it does for kustomization files).
func TestTraceRecordsRefusedReads(t *testing.T) {
	view, err := FromFiles(map[string]string{"app/kustomization.yaml@": "->/etc/passwd"}, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	recording, trace := view.Recording()
	if _, err := recording.ReadFile("/app/kustomization.yaml"); err == nil {
		t.Fatal("read through an escaping symlink")
	}
	if !trace.Matches(view) {
		t.Error("the same view does not match its own trace")
	}
	fixed, _ := FromFiles(map[string]string{"app/kustomization.yaml": "resources: []\n"}, DefaultLimits())
	if trace.Matches(fixed) {
		t.Error("a trace with a refused read matches a view where the read succeeds")
	}
}
