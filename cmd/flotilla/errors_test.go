package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/sources/gitserver"
	"github.com/flotilla-dev/flotilla/sources/gittest"
)

// errorsFleet serves a repository "fleet" on branches main and dev from a local Git server, and
// writes a configuration of three clusters and one App whose Source is at sourceURL(server) on
// ref; nothing in it is ever reached but the Git server.
func errorsFleet(t *testing.T, sourcePath, ref string) (cfg string, srv *gitserver.Server) {
	t.Helper()
	root := t.TempDir()
	repo := gittest.NewRepo(t, root, "fleet")
	repo.Write(map[string]string{"overlays/dev/kustomization.yaml": "resources: []\n"})
	repo.Commit("fleet")
	repo.Git("push", "--quiet", "origin", "HEAD:refs/heads/dev")
	srv, err := gitserver.Start(gitserver.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	dir := t.TempDir()
	cfg = filepath.Join(dir, "flotilla.yaml")
	text := fmt.Sprintf(`apiVersion: flotilla.dev/v1alpha1
kind: Source
metadata: {name: fleet}
spec:
  url: %s/%s
  ref: %s
`, srv.URL, sourcePath, ref)
	for _, name := range []string{"dev-1", "dev-2", "dev-3"} {
		text += fmt.Sprintf("---\napiVersion: flotilla.dev/v1alpha1\nkind: Cluster\nmetadata: {name: %s, labels: {env: dev}}\nspec: {kubeconfig: %s}\n",
			name, filepath.Join(dir, "no-kubeconfig"))
	}
	text += "---\napiVersion: flotilla.dev/v1alpha1\nkind: App\nmetadata: {name: settings}\nspec:\n  source: fleet\n  path: overlays/{{ .Cluster.Labels.env }}\n"
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg, srv
}

// TestMissingRepositoryReportedOncePerSource: a Source whose URL names a repository the server
// does not have fails each of its App × Cluster pairs, but the progress gives the error once,
// with the file and line of spec.url, the URL and what to check, and no dangling colon.
func TestMissingRepositoryReportedOncePerSource(t *testing.T) {
	cfg, srv := errorsFleet(t, "missing.git", "{branch: main}")
	for _, command := range []string{"sync", "diff"} {
		t.Run(command, func(t *testing.T) {
			res := flotilla(t, command, "--config", cfg, "--cache-dir", t.TempDir())
			if res.code == 0 {
				t.Fatalf("%s of a missing repository succeeded:\n%s%s", command, res.stdout, res.stderr)
			}
			want := cfg + ":5: Source/fleet: spec.url: list refs of " + srv.URL + "/missing.git: repository not found; check the URL, or set spec.auth if the repository is private"
			if n := strings.Count(res.stderr, want); n != 1 {
				t.Errorf("stderr gives the error %d times, want once: %q\n%s", n, want, res.stderr)
			}
			if strings.Count(res.stderr, "repository not found") != 1 {
				t.Errorf("stderr repeats the error:\n%s", res.stderr)
			}
			if strings.Count(res.stdout, "repository not found") != 1 {
				t.Errorf("the summary gives the error %d times, want once:\n%s", strings.Count(res.stdout, "repository not found"), res.stdout)
			}
			if !strings.Contains(res.stderr, "dev-2/settings: Failed: Source/fleet could not be fetched (see above)") && command == "sync" {
				t.Errorf("the pairs do not name the Source:\n%s", res.stderr)
			}
			if strings.Contains(res.stdout+res.stderr, "not found: ") || strings.Contains(res.stdout+res.stderr, "not found:\n") {
				t.Errorf("the error ends in a dangling colon:\n%s%s", res.stdout, res.stderr)
			}
		})
	}
}

// TestSourcesCheckBranchNotFound: `sources check` of a branch the remote lacks shows the branch
// and "not found" in the table, and the error lists the remote's branches.
func TestSourcesCheckBranchNotFound(t *testing.T) {
	cfg, srv := errorsFleet(t, "fleet.git", "{branch: mian}")
	res := flotilla(t, "sources", "check", "--config", cfg, "--cache-dir", t.TempDir())
	if res.code != 1 {
		t.Fatalf("sources check: exit %d, want 1\n%s%s", res.code, res.stdout, res.stderr)
	}
	row := strings.Fields(strings.Split(res.stdout, "\n")[1])
	if got := strings.Join(row, " "); got != "fleet branch mian not found - - FAILED" {
		t.Errorf("row = %q, want the branch and \"not found\"\n%s", got, res.stdout)
	}
	want := cfg + `:6: Source/fleet: spec.ref.branch: branch "mian" not found on ` + srv.URL + `/fleet.git; the remote has branches dev, main: set spec.ref.branch to one of them`
	if !strings.Contains(res.stdout, "error: "+want) {
		t.Errorf("stdout lacks %q:\n%s", want, res.stdout)
	}
	js := flotilla(t, "sources", "check", "--config", cfg, "--cache-dir", t.TempDir(), "-o", "json")
	var rows []struct {
		Ref   string `json:"ref"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(js.stdout), &rows); err != nil || len(rows) != 1 || rows[0].Ref != "branch mian" || rows[0].Error != want {
		t.Errorf("-o json = %s (%v)", js.stdout, err)
	}
}

// TestUndefinedNamesListDefinedOnes: an --app or --cluster the configuration does not define is
// refused before anything is fetched, listing the names it does define.
func TestUndefinedNamesListDefinedOnes(t *testing.T) {
	cfg, _ := errorsFleet(t, "fleet.git", "{branch: main}")
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sync", "--cluster", "local-1"}, 1, `Cluster "local-1" is not defined in ` + cfg + `; its Clusters are dev-1, dev-2, dev-3: pass one of them to --cluster`},
		{[]string{"diff", "--cluster", "local-1"}, 2, `Cluster "local-1" is not defined in ` + cfg + `; its Clusters are dev-1, dev-2, dev-3`},
		{[]string{"sync", "--app", "web"}, 1, `App "web" is not defined in ` + cfg + `; its Apps are settings: pass one of them to --app`},
		{[]string{"render", "--app", "settings", "--cluster", "local-1"}, 1, `Cluster "local-1" is not defined in ` + cfg + `; its Clusters are dev-1, dev-2, dev-3`},
	}
	for _, tt := range tests {
		args := append(tt.args, "--config", cfg, "--cache-dir", t.TempDir())
		res := flotilla(t, args...)
		if res.code != tt.code || !strings.Contains(res.stderr, tt.want) {
			t.Errorf("flotilla %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tt.args, " "), res.code, res.stderr, tt.code, tt.want)
		}
		if strings.Contains(res.stderr, "fetching") {
			t.Errorf("flotilla %s fetched before refusing the name:\n%s", strings.Join(tt.args, " "), res.stderr)
		}
	}
}

// TestUnknownOutputFormatRefused: every command with -o refuses a format it does not print,
// naming those it does, before doing any work (render of a folder that does not exist fails on
// the format, not the folder).
func TestUnknownOutputFormatRefused(t *testing.T) {
	cfg, _ := errorsFleet(t, "fleet.git", "{branch: main}")
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"render", "does-not-exist", "-o", "table"}, 1, `--output "table" is not one of yaml, json: the formats flotilla render prints`},
		{[]string{"sync", "--config", cfg, "--cache-dir", t.TempDir(), "-o", "xml"}, 1, `--output "xml" is not one of table, json, yaml: the formats flotilla sync prints`},
		{[]string{"diff", "--config", cfg, "--cache-dir", t.TempDir(), "-o", "yml"}, 2, `--output "yml" is not one of table, json, yaml: the formats flotilla diff prints`},
		{[]string{"sources", "check", "--config", cfg, "--cache-dir", t.TempDir(), "-o", "wide"}, 1, `--output "wide" is not one of table, json, yaml: the formats flotilla sources check prints`},
		{[]string{"fleet", "status", "--dir", t.TempDir(), "-o", "csv"}, 1, `--output "csv" is not one of table, json, yaml: the formats flotilla fleet status prints`},
		{[]string{"history", "show", "1", "--state", t.TempDir(), "-o", "table"}, 1, `--output "table" is not one of text, json, yaml: the formats flotilla history show prints`},
		{[]string{"audit", "verify", "--state", t.TempDir(), "-o", "yaml"}, 2, `--output "yaml" is not one of text, json: the formats flotilla audit verify prints`},
		{[]string{"audit", "export", "--state", t.TempDir(), "-o", "json"}, 1, `--output "json" is not one of jsonl: the formats flotilla audit export prints`},
	}
	for _, tt := range tests {
		res := flotilla(t, tt.args...)
		if res.code != tt.code || !strings.Contains(res.stderr, tt.want) || res.stdout != "" {
			t.Errorf("flotilla %s: exit %d, stdout %q, stderr %q; want exit %d and %q", strings.Join(tt.args, " "), res.code, res.stdout, res.stderr, tt.code, tt.want)
		}
		if strings.Contains(res.stderr, "fetching") {
			t.Errorf("flotilla %s started work before refusing -o:\n%s", strings.Join(tt.args, " "), res.stderr)
		}
	}
}
