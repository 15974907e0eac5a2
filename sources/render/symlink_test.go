package render_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/sources/gittest"
	"github.com/flotilla-dev/flotilla/sources/render"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

// symlinkedRepo is a fleet repository whose App folders name a shared base through symlinked
// folders, as kubectl kustomize follows them.
var symlinkedRepo = struct{ files, links map[string]string }{
	files: map[string]string{
		"shared/base/kustomization.yaml": "resources: [deployment.yaml, cm.yaml]\n",
		"shared/base/deployment.yaml":    deployment,
		"shared/base/configs/cm.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: fast}\n",
		"apps/shop/kustomization.yaml":   "resources: [base]\nnamePrefix: shop-\nnamespace: shop\n",
	},
	links: map[string]string{
		"apps/shop/base":      "../../shared/base", // a symlinked folder that resources names
		"shared/base/cm.yaml": "configs/cm.yaml",   // a file symlink inside it
		"apps/alias":          "shop",              // an App path that is itself a symlink
	},
}

// writeRepo writes files and symlinks under root.
func writeRepo(t *testing.T, root string, files, links map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for p, target := range links {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, full); err != nil {
			t.Fatal(err)
		}
	}
}

// symlinkViews returns the repository as an on-disk folder, a Git commit and in memory.
func symlinkViews(t *testing.T, files, links map[string]string) map[string]*tree.FS {
	t.Helper()
	repo := gittest.NewRepo(t, t.TempDir(), "fleet")
	writeRepo(t, repo.Work, files, links)
	fromDir, err := tree.FromDir(repo.Work, tree.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	fromGit, err := tree.FromGit(repo.CommitTree("fleet"), tree.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]string{}
	for p, content := range files {
		all[p] = content
	}
	for p, target := range links {
		all[p+"@"] = "->" + target
	}
	fromFiles, err := tree.FromFiles(all, tree.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return map[string]*tree.FS{"FromDir": fromDir, "FromGit": fromGit, "FromFiles": fromFiles}
}

// TestRenderFollowsSymlinkedFoldersLikeKubectl: a kustomization that names a symlinked folder
// inside the repository (holding a file symlink) renders as kubectl kustomize renders it, from a
// folder on disk and from a Git commit.
func TestRenderFollowsSymlinkedFoldersLikeKubectl(t *testing.T) {
	root := t.TempDir()
	writeRepo(t, root, symlinkedRepo.files, symlinkedRepo.links)
	for _, dir := range []string{"apps/shop", "apps/alias"} {
		t.Run("kubectl "+dir, func(t *testing.T) { assertParity(t, root, dir) })
	}
	var want string
	for source, view := range symlinkViews(t, symlinkedRepo.files, symlinkedRepo.links) {
		for _, dir := range []string{"apps/shop", "apps/alias"} {
			m, err := render.Render(context.Background(), view.Fresh(), dir)
			if err != nil {
				t.Fatalf("%s %s: %v", source, dir, err)
			}
			if len(m.Objects) != 2 || m.Objects[0].GetName() != "shop-settings" {
				t.Errorf("%s %s: rendered %d objects, the first %q", source, dir, len(m.Objects), m.Objects[0].GetName())
			}
			if want == "" {
				want = m.Digest
			}
			if m.Digest != want {
				t.Errorf("%s %s: digest %s, want %s as from the others", source, dir, m.Digest, want)
			}
		}
	}
}

// TestRenderRefusesSymlinkedFoldersThatLeave: a symlinked folder whose target is outside the
// repository is refused as leaving it, whether the target is absolute or climbs out.
func TestRenderRefusesSymlinkedFoldersThatLeave(t *testing.T) {
	for _, target := range []string{"../../..", "/etc", "../../../etc", "../shop/../../../.."} {
		links := map[string]string{"apps/shop/base": target}
		for source, view := range symlinkViews(t, symlinkedRepo.files, links) {
			t.Run(source+" "+target, func(t *testing.T) {
				_, err := render.Render(context.Background(), view, "apps/shop")
				want := "apps/shop/base: symlink to " + target + " leaves the repository; refused"
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err = %v, want it to contain %q", err, want)
				}
				for _, wrong := range []string{"does not exist", "must build at directory"} {
					if strings.Contains(err.Error(), wrong) {
						t.Errorf("err says %q: %v", wrong, err)
					}
				}
			})
		}
	}
}

// TestRenderRefusesSymlinkLoops: a -> b -> a, a link to itself and a link to its own folder
// are refused, at the hop limit (or, for the link to its own folder, as kustomize's cycle).
func TestRenderRefusesSymlinkLoops(t *testing.T) {
	for name, tt := range map[string]struct {
		links map[string]string
		want  []string
	}{
		"a -> b -> a": {map[string]string{"apps/shop/base": "a", "apps/shop/a": "b", "apps/shop/b": "a"}, []string{"apps/shop/base: too many levels of symlinks"}},
		"a -> a":      {map[string]string{"apps/shop/base": "base"}, []string{"apps/shop/base: too many levels of symlinks"}},
		"a -> .":      {map[string]string{"apps/shop/base": "."}, []string{"too many levels of symlinks", "cycle detected"}},
	} {
		for source, view := range symlinkViews(t, symlinkedRepo.files, tt.links) {
			t.Run(name+" "+source, func(t *testing.T) {
				_, err := render.Render(context.Background(), view, "apps/shop")
				if err == nil || !slices.ContainsFunc(tt.want, func(w string) bool { return strings.Contains(err.Error(), w) }) {
					t.Fatalf("err = %v, want it to contain one of %q", err, tt.want)
				}
			})
		}
	}
}

// TestCacheSeesChangedSymlinkTargets: the render cache reuses a render only while the symlinked
// folder it went through points at the same content.
func TestCacheSeesChangedSymlinkTargets(t *testing.T) {
	files := func(target, v1Mode string) map[string]string {
		return map[string]string{
			"v1/kustomization.yaml":  "resources: [cm.yaml]\n",
			"v1/cm.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {mode: " + v1Mode + "}\n",
			"v2/kustomization.yaml":  "resources: [cm.yaml]\n",
			"v2/cm.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {mode: two}\n",
			"app/kustomization.yaml": "resources: [base]\n",
			"app/base@":              "->" + target,
			"unrelated.yaml":         v1Mode,
		}
	}
	cache := render.NewCache()
	first := cacheRender(t, cache, files("../v1", "one"))
	for _, tt := range []struct {
		name          string
		target, mode  string
		reuse         bool
		wantConfigMap string
	}{
		{"same target", "../v1", "one", true, "one"},
		{"target changed", "../v2", "one", false, "two"},
		{"back, spelled differently", "../app/../v1/", "one", true, "one"},
		{"content behind the link changed", "../v1", "three", false, "three"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := cacheRender(t, cache, files(tt.target, tt.mode))
			if reused := got == first; reused != tt.reuse {
				t.Errorf("reused the first render = %v, want %v", reused, tt.reuse)
			}
			if mode, _, _ := unstructured.NestedString(got.Objects[0].Object, "data", "mode"); mode != tt.wantConfigMap {
				t.Errorf("rendered mode %q, want %q", mode, tt.wantConfigMap)
			}
		})
	}
}

// TestRenderIgnoresBadFileNamesItDoesNotUse: file and folder names that kustomize's in-memory
// file system cannot hold (control characters, invalid UTF-8, a backslash) break only the
// renders that use them, which are refused naming them quoted. (With the symlink tests, as the
// views are built the same way.)
func TestRenderIgnoresBadFileNamesItDoesNotUse(t *testing.T) {
	files := map[string]string{
		"app/kustomization.yaml":  "resources: [cm.yaml]\n",
		"app/cm.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
		"app/a\x1b[2Jb.yaml":      "x",
		"new\nline/cm.yaml":       "x",
		"back\\slash.yaml":        "x",
		"bad\xffutf8.yaml":        "x",
		"uses/kustomization.yaml": "resources: [\"a\\e[2Jb.yaml\"]\n",
		"uses/a\x1b[2Jb.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
		"gen/kustomization.yaml":  "configMapGenerator:\n- name: g\n  files: [\"a\\e[2Jb.yaml\"]\n",
		"gen/a\x1b[2Jb.yaml":      "x",
	}
	for source, view := range symlinkViews(t, files, map[string]string{"app/link": "../new\nline"}) {
		t.Run(source, func(t *testing.T) {
			if m, err := render.Render(context.Background(), view.Fresh(), "app"); err != nil || len(m.Objects) != 1 {
				t.Fatalf("unrelated render: %v", err)
			}
			for _, dir := range []string{"uses", "gen"} {
				_, err := render.Render(context.Background(), view.Fresh(), dir)
				want := `file name "` + dir + `/a\x1b[2Jb.yaml" has a control character; refused`
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err = %v, want it to contain %s", err, want)
				}
				if strings.ContainsRune(err.Error(), '\x1b') {
					t.Errorf("error shows the escape character raw: %q", err)
				}
			}
		})
	}
}

// TestFilesThroughSymlinkedFolder: Files names each object's file when the App's path is a
// symlinked folder, which kustomize loads from its real folder.
func TestFilesThroughSymlinkedFolder(t *testing.T) {
	view, err := tree.FromFiles(map[string]string{
		"real/kustomization.yaml": "resources: [d.yaml]\n",
		"real/d.yaml":             deployment,
		"app@":                    "->real",
	}, tree.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	files := render.Files(view, "app")
	id := object.ID{Group: "apps", Kind: "Deployment", Name: "web"}
	if files[id] != "app/d.yaml" && files[id] != "real/d.yaml" {
		t.Errorf("Files = %v, want the Deployment's file", files)
	}
}
