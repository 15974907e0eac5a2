package tree

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"

	"github.com/flotilla-dev/flotilla/sources/gittest"
)

const configMap = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n"

// badNames are file names that a repository may hold and kustomize's in-memory file system
// cannot, with why each is refused.
var badNames = []struct{ name, reason string }{
	{"a\x1bb.yaml", "has a control character"},
	{"new\nline.yaml", "has a control character"},
	{"bell\a.yaml", "has a control character"},
	{"del\x7f.yaml", "has a control character"},
	{"back\\slash.yaml", "has a backslash"},
	{"bad\xffutf8.yaml", "is not valid UTF-8"},
	{"rtl\u202egpj.yaml", "is not supported"},
	{"with space.yaml", "is not supported"},
	{"a..b.yaml", "is not supported"},
}

// refusal is the message that refuses the file (or folder) rel.
func refusal(kind, rel, reason string) string {
	return kind + " name " + strconv.Quote(rel) + " " + reason
}

// hostileTree is a repository with a kustomization in app that names none of the bad names, and
// every bad name as a file at the root, in app, and as a folder.
func hostileTree() map[string]string {
	files := map[string]string{
		"app/kustomization.yaml": "resources: [cm.yaml]\n",
		"app/cm.yaml":            configMap,
	}
	for _, b := range badNames {
		files[b.name] = configMap
		files["app/"+b.name] = configMap
		files["dir-"+b.name+"/x.yaml"] = configMap
	}
	return files
}

// views builds the same repository as FromFiles, FromDir and FromGit.
func views(t *testing.T, files map[string]string, links map[string]string) map[string]*FS {
	t.Helper()
	all := map[string]string{}
	for p, c := range files {
		all[p] = c
	}
	for p, target := range links {
		all[p+"@"] = "->" + target
	}
	fromFiles, err := FromFiles(all, DefaultLimits())
	if err != nil {
		t.Fatalf("FromFiles: %v", err)
	}
	repo := gittest.NewRepo(t, t.TempDir(), "hostile")
	repo.Write(files)
	for p, target := range links {
		full := filepath.Join(repo.Work, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, full); err != nil {
			t.Fatal(err)
		}
	}
	fromDir, err := FromDir(repo.Work, DefaultLimits())
	if err != nil {
		t.Fatalf("FromDir: %v", err)
	}
	return map[string]*FS{"FromFiles": fromFiles, "FromDir": fromDir, "FromGit": gitView(t, repo)}
}

// gitView commits the work tree and returns a view of the commit, read with go-git.
func gitView(t *testing.T, repo *gittest.Repo) *FS {
	t.Helper()
	view, err := FromGit(repo.CommitTree("commit"), DefaultLimits())
	if err != nil {
		t.Fatalf("FromGit: %v", err)
	}
	return view
}

// build runs kustomize on the view, as the render package does.
func build(view *FS, dir string) (string, error) {
	k := krusty.MakeKustomizer(&krusty.Options{LoadRestrictions: types.LoadRestrictionsRootOnly, PluginConfig: types.DisabledPluginConfig()})
	m, err := k.Run(view, dir)
	if err != nil {
		return "", err
	}
	out, err := m.AsYaml()
	return string(out), err
}

// assertPrintable fails if msg holds a character that a terminal would interpret.
func assertPrintable(t *testing.T, msg string) {
	t.Helper()
	if strings.ContainsFunc(msg, func(r rune) bool { return unicode.IsControl(r) || r == '\u202e' || r == unicode.ReplacementChar }) {
		t.Errorf("message shows a control character raw: %q", msg)
	}
}

// TestBadFileNameBreaksOnlyRendersThatUseIt: a file anywhere whose name the skeleton cannot
// hold no longer fails every render; asking for it is refused, naming it quoted.
func TestBadFileNameBreaksOnlyRendersThatUseIt(t *testing.T) {
	for source, view := range views(t, hostileTree(), nil) {
		t.Run(source, func(t *testing.T) {
			out, err := build(view, "/app")
			if err != nil || !strings.Contains(out, "name: c") {
				t.Fatalf("unrelated render: %v\n%s", err, out)
			}
			if _, err := view.ReadFile("/a\x1bb.yaml"); err == nil || err.Error() != "file name \"a\\x1bb.yaml\" has a control character; refused" {
				t.Errorf("ReadFile = %v", err)
			}
			for _, b := range badNames {
				for _, rel := range []string{b.name, "app/" + b.name} {
					p := "/" + rel
					want := refusal("file", rel, b.reason)
					_, err := view.ReadFile(p)
					if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "; refused") {
						t.Errorf("ReadFile(%q) = %v, want %s…; refused", p, err, want)
						continue
					}
					assertPrintable(t, err.Error())
					if _, _, err2 := view.CleanedAbs(p); err2 == nil || err2.Error() != err.Error() {
						t.Errorf("CleanedAbs(%q) = %v, want %v", p, err2, err)
					}
					if view.IsDir(p) || view.Exists(p) {
						t.Errorf("IsDir or Exists(%q) = true", p)
					}
				}
				dir := "dir-" + b.name
				want := refusal("folder", dir, b.reason)
				for _, p := range []string{"/" + dir, "/" + dir + "/x.yaml"} {
					if _, err := view.ReadFile(p); err == nil || !strings.HasPrefix(err.Error(), want) {
						t.Errorf("ReadFile(%q) = %v, want %s", p, err, want)
					}
				}
				if _, err := view.ReadDir("/" + dir); err == nil || !strings.HasPrefix(err.Error(), want) {
					t.Errorf("ReadDir(%q) = %v, want %s", dir, err, want)
				}
			}
			// Listings leave refused names out.
			names, err := view.ReadDir("/app")
			slices.Sort(names)
			if err != nil || strings.Join(names, ",") != "cm.yaml,kustomization.yaml" {
				t.Errorf("ReadDir(/app) = %q, %v", names, err)
			}
			if got, err := view.Glob("/app/*"); err != nil || strings.Join(got, ",") != "/app/cm.yaml,/app/kustomization.yaml" {
				t.Errorf("Glob(/app/*) = %q, %v", got, err)
			}
		})
	}
}

// TestKustomizeNamingABadFileIsRefused: a kustomization that names a bad file gets the refusal.
func TestKustomizeNamingABadFileIsRefused(t *testing.T) {
	files := hostileTree()
	files["gen/kustomization.yaml"] = "configMapGenerator:\n- name: g\n  files: [\"a\\eb.yaml\"]\n"
	files["gen/a\x1bb.yaml"] = "x"
	for source, view := range views(t, files, nil) {
		t.Run(source, func(t *testing.T) {
			_, err := build(view, "/gen")
			if err == nil || !strings.Contains(err.Error(), `file name "gen/a\x1bb.yaml" has a control character; refused`) {
				t.Fatalf("err = %v, want the refusal", err)
			}
		})
	}
}

func TestDisplayQuotesOnlyPathsThatNeedIt(t *testing.T) {
	for p, want := range map[string]string{
		"/":                  ".",
		"/apps/web/d.yaml":   "apps/web/d.yaml",
		"/apps/café/a b.yml": "apps/café/a b.yml",
		"/a\x1b[31mred":      `"a\x1b[31mred"`,
		"/new\nline":         `"new\nline"`,
		"/back\\slash":       `"back\\slash"`,
		"/bad\xff":           `"bad\xff"`,
		"/rtl\u202eoverride": `"rtl\u202eoverride"`,
	} {
		if got := display(p); got != want {
			t.Errorf("display(%q) = %s, want %s", p, got, want)
		}
	}
}

// TestErrorsQuoteHostilePaths: every message of the view that shows a path or a symlink target
// from the repository shows it quoted when it holds a control character.
func TestErrorsQuoteHostilePaths(t *testing.T) {
	view, err := FromFiles(map[string]string{
		"app/x.yaml@":    "->/etc/\x1b[2Jpasswd",
		"app/y.yaml@":    "->../../\x1b[2J",
		"app/z.yaml@":    "->gone\x1b[2J",
		"app/big.yaml":   strings.Repeat("a", 100),
		"app/loop.yaml@": "->loop.yaml",
	}, Limits{MaxFileSize: 10, MaxTotalBytes: 1000, MaxDocuments: 10, MaxAliasNodes: 10})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"/app/x.yaml":           `app/x.yaml: symlink to "/etc/\x1b[2Jpasswd" leaves the repository; refused`,
		"/app/y.yaml":           `app/y.yaml: symlink to "../../\x1b[2J" leaves the repository; refused`,
		"/app/z.yaml":           `app/z.yaml: symlink to "gone\x1b[2J", which does not exist`,
		"/app/nope\x1b[2J.yaml": `"app/nope\x1b[2J.yaml": file does not exist`,
		"/app/big.yaml":         `app/big.yaml: file size in bytes: 100 is over the limit of 10`,
		"/app/loop.yaml":        `app/loop.yaml: too many levels of symlinks`,
	} {
		_, err := view.ReadFile(name)
		if err == nil || err.Error() != want {
			t.Errorf("ReadFile(%q) = %v, want %s", name, err, want)
		}
		if err != nil {
			assertPrintable(t, err.Error())
		}
	}
	if err := view.Walk("/a\x1bb", nil); err == nil || err.Error() != `"a\x1bb": walk is not supported` {
		t.Errorf("Walk: %v", err)
	}
}
