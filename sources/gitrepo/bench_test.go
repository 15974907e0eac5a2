package gitrepo_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/sources/gitrepo"
	"github.com/flotilla-dev/flotilla/sources/gitserver"
	"github.com/flotilla-dev/flotilla/sources/gittest"
)

// repoWithHistory creates a served repository with n commits (fast-import), each changing one of
// 50 manifest files, and returns the server and the repository.
func repoWithHistory(b *testing.B, n int) (*gitserver.Server, *gittest.Repo) {
	b.Helper()
	root := b.TempDir()
	repo := gittest.NewRepo(b, root, "fleet")
	var stream strings.Builder
	for i := 1; i <= n; i++ {
		content := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d}\ndata:\n  revision: \"%d\"\n  payload: %q\n", i%50, i, strings.Repeat(fmt.Sprint(i), 40))
		fmt.Fprintf(&stream, "commit refs/heads/main\ncommitter Bench <bench@example.com> %d +0000\ndata <<EOM\ncommit %d\nEOM\n", 1700000000+i, i)
		fmt.Fprintf(&stream, "M 100644 inline apps/cm-%d.yaml\ndata %d\n%s\n", i%50, len(content), content)
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = repo.Bare
	cmd.Stdin = strings.NewReader(stream.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("fast-import: %v\n%s", err, out)
	}
	repo.Git("fetch", "--quiet", "origin", "main")
	repo.Git("reset", "--quiet", "--hard", "origin/main")
	srv, err := gitserver.Start(gitserver.Options{Root: root})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	return srv, repo
}

func benchSource(url string) *config.Source {
	return &config.Source{Metadata: config.ObjectMeta{Name: "fleet"}, Spec: config.SourceSpec{URL: url, Ref: config.GitRef{Branch: "main"}}}
}

// BenchmarkFetchUnchanged is a poll of a remote whose branch has not moved: a ref listing, no pack.
//
//	go test -run '^$' -bench Fetch ./sources/gitrepo
func BenchmarkFetchUnchanged(b *testing.B) {
	srv, _ := repoWithHistory(b, 1000)
	f := gitrepo.NewFetcher(b.TempDir())
	src := benchSource(srv.RepoURL("fleet"))
	if _, err := f.Fetch(context.Background(), src); err != nil {
		b.Fatal(err)
	}
	packs, sent := srv.UploadPacks(), srv.BytesSent()
	for b.Loop() {
		got, err := f.Fetch(context.Background(), src)
		if err != nil || got.Downloaded {
			b.Fatalf("poll downloaded=%v err=%v", got != nil && got.Downloaded, err)
		}
	}
	b.ReportMetric(float64(srv.BytesSent()-sent)/float64(b.N), "bytes/op")
	b.ReportMetric(float64(srv.UploadPacks()-packs)/float64(b.N), "packs/op")
}

// BenchmarkFetchOneNewCommit fetches a single new commit on top of 1,000 already cached.
func BenchmarkFetchOneNewCommit(b *testing.B) {
	srv, repo := repoWithHistory(b, 1000)
	f := gitrepo.NewFetcher(b.TempDir())
	src := benchSource(srv.RepoURL("fleet"))
	if _, err := f.Fetch(context.Background(), src); err != nil {
		b.Fatal(err)
	}
	var sent int64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		repo.Write(map[string]string{"apps/cm-7.yaml": fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-7}\ndata: {bench: \"%d\"}\n", i)})
		repo.Commit(fmt.Sprintf("bench %d", i))
		before := srv.BytesSent()
		b.StartTimer()
		got, err := f.Fetch(context.Background(), src)
		if err != nil || !got.Downloaded {
			b.Fatalf("fetch: downloaded=%v err=%v", got != nil && got.Downloaded, err)
		}
		sent += srv.BytesSent() - before
	}
	b.ReportMetric(float64(sent)/float64(b.N), "bytes/op")
}

// BenchmarkFetchFreshClone is the baseline for BenchmarkFetchOneNewCommit: the same repository
// fetched into an empty cache.
func BenchmarkFetchFreshClone(b *testing.B) {
	srv, _ := repoWithHistory(b, 1000)
	src := benchSource(srv.RepoURL("fleet"))
	var sent int64
	for b.Loop() {
		b.StopTimer()
		dir, err := os.MkdirTemp(b.TempDir(), "cache")
		if err != nil {
			b.Fatal(err)
		}
		before := srv.BytesSent()
		b.StartTimer()
		if _, err := gitrepo.NewFetcher(filepath.Join(dir, "c")).Fetch(context.Background(), src); err != nil {
			b.Fatal(err)
		}
		sent += srv.BytesSent() - before
	}
	b.ReportMetric(float64(sent)/float64(b.N), "bytes/op")
}
