package gitrepo_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/sources/gitrepo"
	"github.com/flotilla-dev/flotilla/sources/gitserver"
	"github.com/flotilla-dev/flotilla/sources/gittest"
)

// loadSource writes a configuration holding one Source named fleet with the given spec lines
// and loads it, so that the Source knows the file and lines it was read from.
func loadSource(t *testing.T, spec string) (*config.Source, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "flotilla.yaml")
	text := "apiVersion: flotilla.dev/v1alpha1\nkind: Source\nmetadata: {name: fleet}\nspec:\n" + spec
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Source("fleet"), file
}

// TestFetchMissingRepository: a URL naming a repository the server does not have is reported
// with the file and line of spec.url, the URL without its user, what to check next, and no
// trailing colon (go-git ends the error with the empty body of the 404).
func TestFetchMissingRepository(t *testing.T) {
	root := t.TempDir()
	gittest.NewRepo(t, root, "fleet").Commit("only")
	srv, err := gitserver.Start(gitserver.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	const token = "ghp_tokenInTheURL"

	src, file := loadSource(t, "  url: http://"+token+"@"+host+"/missing.git\n  ref: {branch: main}\n")
	_, err = gitrepo.NewFetcher(t.TempDir()).Fetch(context.Background(), src)
	want := fmt.Sprintf(`%s:5: Source/fleet: spec.url: list refs of http://***@%s/missing.git: repository not found; check the URL, or set spec.auth if the repository is private (servers such as GitHub answer "not found" to a client that may not read a repository)`, file, host)
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant   %s", err, want)
	}
	var fe *gitrepo.FetchError
	if !errors.As(err, &fe) || fe.Source != "fleet" || fe.Field != "spec.url" || fe.Line != 5 || fe.URL != "http://***@"+host+"/missing.git" {
		t.Errorf("FetchError = %+v", fe)
	}
	if !errors.Is(err, transport.ErrRepositoryNotFound) {
		t.Errorf("errors.Is(err, transport.ErrRepositoryNotFound) = false")
	}
}

// TestFetchRefNotFoundListsNames: a branch the remote lacks is "not found", with the first ten
// of the remote's branches, "…" and how many there are; the error blames spec.ref.branch.
func TestFetchRefNotFoundListsNames(t *testing.T) {
	root := t.TempDir()
	repo := gittest.NewRepo(t, root, "fleet")
	repo.Commit("only")
	for i := 1; i <= 12; i++ {
		repo.Git("push", "--quiet", "origin", fmt.Sprintf("HEAD:refs/heads/b%02d", i))
	}
	srv, err := gitserver.Start(gitserver.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	src, file := loadSource(t, "  url: "+srv.RepoURL("fleet")+"\n  ref:\n    branch: mian\n")
	_, err = gitrepo.NewFetcher(t.TempDir()).Fetch(context.Background(), src)
	want := fmt.Sprintf(`%s:7: Source/fleet: spec.ref.branch: branch "mian" not found on %s; the remote has branches b01, b02, b03, b04, b05, b06, b07, b08, b09, b10, … (13 in all): set spec.ref.branch to one of them`, file, srv.RepoURL("fleet"))
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant   %s", err, want)
	}
	var notFound *gitrepo.RefNotFoundError
	if !errors.As(err, &notFound) || notFound.Kind != "branch" || notFound.Name != "mian" || len(notFound.Available) != 13 || notFound.Available[12] != "main" {
		t.Errorf("RefNotFoundError = %+v", notFound)
	}
}

func TestDescribeRef(t *testing.T) {
	for ref, want := range map[config.GitRef]string{
		{Branch: "main"}:                   "branch main",
		{Tag: "v1.2.0"}:                    "tag v1.2.0",
		{Semver: ">=1.0.0"}:                "semver >=1.0.0",
		{Commit: strings.Repeat("ab", 20)}: "commit abababababab",
		{}:                                 "",
	} {
		if got := gitrepo.DescribeRef(ref); got != want {
			t.Errorf("DescribeRef(%+v) = %q, want %q", ref, got, want)
		}
	}
}
