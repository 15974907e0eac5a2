package gitrepo_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/sources/gitrepo"
	"github.com/flotilla-dev/flotilla/sources/gitserver"
	"github.com/flotilla-dev/flotilla/sources/gittest"
)

const password = "s3cret-Passw0rd"

// served starts a Git server with basic auth over a fresh root and returns it with a repository
// on it.
func served(t *testing.T) (*gitserver.Server, *gittest.Repo) {
	t.Helper()
	root := t.TempDir()
	repo := gittest.NewRepo(t, root, "fleet")
	srv, err := gitserver.Start(gitserver.Options{Root: root, Username: "bot", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, repo
}

// source is a Source for url with basic auth whose password is in a file.
func source(t *testing.T, url string, ref config.GitRef) *config.Source {
	t.Helper()
	file := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(file, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &config.Source{
		Metadata: config.ObjectMeta{Name: "fleet"},
		Spec: config.SourceSpec{URL: url, Ref: ref, Auth: &config.GitAuth{
			Basic: &config.BasicAuth{Username: "bot", Password: config.SecretRef{File: file}},
		}},
	}
}

func fetch(t *testing.T, f *gitrepo.Fetcher, src *config.Source) *gitrepo.Fetched {
	t.Helper()
	got, err := f.Fetch(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestFetchRefKinds(t *testing.T) {
	srv, repo := served(t)
	repo.Write(map[string]string{"app/config.yaml": "v: 1\n"})
	first := repo.Commit("first")
	repo.Tag("v1.0.0", "release 1.0.0")
	repo.Write(map[string]string{"app/config.yaml": "v: 2\n"})
	second := repo.Commit("second")
	repo.Tag("v1.2.0", "") // lightweight
	repo.Tag("v1.3.0-rc.1", "pre-release")
	repo.Write(map[string]string{"app/config.yaml": "v: 3\n"})
	third := repo.Commit("third\n\nwith a body")
	repo.Tag("v2.0.0", "release 2.0.0")

	tests := []struct {
		name       string
		url        string
		ref        config.GitRef
		wantCommit string
		wantRef    string
		wantTag    string
	}{
		{"branch over http", srv.RepoURL("fleet"), config.GitRef{Branch: "main"}, third, "branch main", ""},
		{"annotated tag", srv.RepoURL("fleet"), config.GitRef{Tag: "v1.0.0"}, first, "tag v1.0.0", "v1.0.0"},
		{"lightweight tag", srv.RepoURL("fleet"), config.GitRef{Tag: "v1.2.0"}, second, "tag v1.2.0", "v1.2.0"},
		{"semver range picks the highest match", srv.RepoURL("fleet"), config.GitRef{Semver: ">=1.0.0 <2.0.0"}, second, "semver >=1.0.0 <2.0.0 → v1.2.0", "v1.2.0"},
		{"semver range across majors", srv.RepoURL("fleet"), config.GitRef{Semver: ">=1.0.0"}, third, "semver >=1.0.0 → v2.0.0", "v2.0.0"},
		{"commit pin", srv.RepoURL("fleet"), config.GitRef{Commit: first}, first, "commit " + first, ""},
		{"branch over file://", repo.FileURL(), config.GitRef{Branch: "main"}, third, "branch main", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := source(t, tt.url, tt.ref)
			if strings.HasPrefix(tt.url, "file://") {
				src.Spec.Auth = nil
			}
			got := fetch(t, gitrepo.NewFetcher(t.TempDir()), src)
			rev := got.Revision
			if rev.Commit != tt.wantCommit || rev.Ref != tt.wantRef || rev.Tag != tt.wantTag {
				t.Errorf("revision = commit %s, ref %q, tag %q; want %s, %q, %q", rev.Commit, rev.Ref, rev.Tag, tt.wantCommit, tt.wantRef, tt.wantTag)
			}
			if rev.Author.Email != "author@example.com" || rev.Committer.Email != "committer@example.com" || rev.Author.When.IsZero() {
				t.Errorf("author %v, committer %v", rev.Author, rev.Committer)
			}
			if rev.Signature.Status != gitrepo.SignatureNotChecked {
				t.Errorf("signature status = %q without a policy", rev.Signature.Status)
			}
			if _, err := got.Tree.File("app/config.yaml"); err != nil {
				t.Errorf("tree lacks app/config.yaml: %v", err)
			}
		})
	}
}

func TestFetchSkipsUnchangedAndFetchesIncrementally(t *testing.T) {
	srv, repo := served(t)
	for i := range 50 {
		repo.Write(map[string]string{"data.txt": strings.Repeat("line of data\n", 200) + string(rune('a'+i%26))})
		repo.Commit("commit")
	}
	f := gitrepo.NewFetcher(t.TempDir())
	src := source(t, srv.RepoURL("fleet"), config.GitRef{Branch: "main"})

	before := srv.BytesSent()
	first := fetch(t, f, src)
	cloneBytes := srv.BytesSent() - before
	if !first.Downloaded {
		t.Fatal("first fetch did not download")
	}

	packs, before := srv.UploadPacks(), srv.BytesSent()
	again := fetch(t, f, src)
	if again.Downloaded || srv.UploadPacks() != packs {
		t.Errorf("fetch of an unchanged remote downloaded a pack (Downloaded=%v, upload-packs %d → %d)", again.Downloaded, packs, srv.UploadPacks())
	}
	if again.Revision.Commit != first.Revision.Commit {
		t.Errorf("unchanged remote gave commit %s, then %s", first.Revision.Commit, again.Revision.Commit)
	}
	t.Logf("poll of an unchanged remote: %d bytes", srv.BytesSent()-before)

	repo.Write(map[string]string{"new.txt": "one more\n"})
	newCommit := repo.Commit("one more")
	before = srv.BytesSent()
	next := fetch(t, f, src)
	incremental := srv.BytesSent() - before
	if !next.Downloaded || next.Revision.Commit != newCommit {
		t.Fatalf("after a push: Downloaded=%v commit %s, want a download of %s", next.Downloaded, next.Revision.Commit, newCommit)
	}
	if incremental*5 > cloneBytes {
		t.Errorf("fetching one new commit sent %d bytes, the first clone %d: not incremental", incremental, cloneBytes)
	}
	t.Logf("clone: %d bytes, one new commit: %d bytes", cloneBytes, incremental)
}

func TestFetchReportsHistoryRewrite(t *testing.T) {
	srv, repo := served(t)
	base := repo.Commit("base")
	seen := repo.Commit("will be rewritten")
	f := gitrepo.NewFetcher(t.TempDir())
	src := source(t, srv.RepoURL("fleet"), config.GitRef{Branch: "main"})
	if got := fetch(t, f, src); got.Rewrite != nil || got.Revision.Commit != seen {
		t.Fatalf("first fetch: commit %s, rewrite %+v", got.Revision.Commit, got.Rewrite)
	}
	repo.Git("reset", "--quiet", "--hard", base)
	rewritten := repo.Commit("replacement") // force-pushed over the seen commit

	got := fetch(t, f, src)
	want := &gitrepo.HistoryRewrite{Previous: seen, Current: rewritten}
	if got.Rewrite == nil || *got.Rewrite != *want {
		t.Fatalf("after a force-push: rewrite = %+v, want %+v", got.Rewrite, want)
	}
	if got.Revision.Commit != rewritten {
		t.Errorf("commit = %s, want the new head %s", got.Revision.Commit, rewritten)
	}
	repo.Commit("fast-forward")
	if got := fetch(t, f, src); got.Rewrite != nil {
		t.Errorf("a fast-forward after the rewrite is reported as a rewrite: %+v", got.Rewrite)
	}
}

func TestFetchErrors(t *testing.T) {
	srv, repo := served(t)
	repo.Commit("only")
	repo.Git("branch", "dev")
	repo.Git("push", "--quiet", "origin", "dev")
	tests := []struct {
		name    string
		mutate  func(*config.Source)
		wantErr string
	}{
		{"wrong password", func(s *config.Source) {
			wrong := filepath.Join(t.TempDir(), "wrong")
			os.WriteFile(wrong, []byte("Wr0ng-Passw0rd-Value"), 0o600)
			s.Spec.Auth.Basic.Password.File = wrong
		}, "Source/fleet: spec.auth: list refs of " + srv.RepoURL("fleet") + ": authentication required; the server refused the credentials in spec.auth"},
		{"missing password variable", func(s *config.Source) {
			s.Spec.Auth.Basic.Password = config.SecretRef{Env: "FLOTILLA_TEST_UNSET_PASSWORD"}
		}, "Source/fleet: spec.auth.basic.password: environment variable FLOTILLA_TEST_UNSET_PASSWORD is not set"},
		{"unknown branch", func(s *config.Source) { s.Spec.Ref = config.GitRef{Branch: "mian"} },
			`Source/fleet: spec.ref.branch: branch "mian" not found on ` + srv.RepoURL("fleet") + `; the remote has branches dev, main: set spec.ref.branch to one of them`},
		{"no matching tag", func(s *config.Source) { s.Spec.Ref = config.GitRef{Semver: "^9"} },
			`Source/fleet: spec.ref.semver: no tag of ` + srv.RepoURL("fleet") + ` matches semver range "^9"; the remote has no tags`},
		{"unknown commit", func(s *config.Source) { s.Spec.Ref = config.GitRef{Commit: strings.Repeat("ab", 20)} },
			"commit abababababababababababababababababababab is not on any branch or tag"},
		{"unreachable server", func(s *config.Source) { s.Spec.URL = "http://127.0.0.1:1/fleet.git" },
			"Source/fleet: spec.url: list refs of http://127.0.0.1:1/fleet.git: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := source(t, srv.RepoURL("fleet"), config.GitRef{Branch: "main"})
			tt.mutate(src)
			_, err := gitrepo.NewFetcher(t.TempDir()).Fetch(context.Background(), src)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			for _, secret := range []string{password, "Wr0ng-Passw0rd-Value"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error shows a password: %v", err)
				}
			}
		})
	}
}

func TestFetchWithBearerToken(t *testing.T) {
	root := t.TempDir()
	repo := gittest.NewRepo(t, root, "fleet")
	head := repo.Commit("only")
	srv, err := gitserver.Start(gitserver.Options{Root: root, Token: "tok-123456"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	t.Setenv("FLOTILLA_TEST_TOKEN", "tok-123456")
	src := &config.Source{Metadata: config.ObjectMeta{Name: "fleet"}, Spec: config.SourceSpec{
		URL: srv.RepoURL("fleet"), Ref: config.GitRef{Branch: "main"},
		Auth: &config.GitAuth{Token: &config.SecretRef{Env: "FLOTILLA_TEST_TOKEN"}},
	}}
	if got := fetch(t, gitrepo.NewFetcher(t.TempDir()), src); got.Revision.Commit != head {
		t.Errorf("commit = %s, want %s", got.Revision.Commit, head)
	}
}

func TestSignaturePolicies(t *testing.T) {
	trustedPGP, trustedPGPPub := gittest.NewOpenPGPKey(t, "Release Bot")
	otherPGP, _ := gittest.NewOpenPGPKey(t, "Mallory")
	trustedSSH, trustedSSHPub := gittest.NewSSHSigner(t)
	otherSSH, _ := gittest.NewSSHSigner(t)
	keys := t.TempDir()
	cliKey, cliPub := gittest.NewSSHKeyFile(t, keys)
	pgpFile, sshFile := filepath.Join(keys, "release.asc"), filepath.Join(keys, "release.pub")
	os.WriteFile(pgpFile, []byte(trustedPGPPub), 0o644)
	os.WriteFile(sshFile, []byte(trustedSSHPub+cliPub), 0o644)

	tests := []struct {
		name       string
		mode       string
		make       func(r *gittest.Repo)
		wantStatus string
		wantKind   string
	}{
		{"OpenPGP-signed commit", config.VerifyCommit, func(r *gittest.Repo) { r.CommitSigned("signed", gittest.OpenPGPSigner{Key: trustedPGP}) }, gitrepo.SignatureVerified, "openpgp"},
		{"SSH-signed commit", config.VerifyCommit, func(r *gittest.Repo) { r.CommitSigned("signed", trustedSSH) }, gitrepo.SignatureVerified, "ssh"},
		{"commit signed by git commit -S with an SSH key", config.VerifyCommit, func(r *gittest.Repo) { r.CommitSignedByGitCLI("signed", cliKey) }, gitrepo.SignatureVerified, "ssh"},
		{"unsigned commit", config.VerifyCommit, func(r *gittest.Repo) { r.Commit("unsigned") }, gitrepo.SignatureUnsigned, ""},
		{"commit signed by another OpenPGP key", config.VerifyCommit, func(r *gittest.Repo) { r.CommitSigned("x", gittest.OpenPGPSigner{Key: otherPGP}) }, gitrepo.SignatureUntrusted, "openpgp"},
		{"commit signed by another SSH key", config.VerifyCommit, func(r *gittest.Repo) { r.CommitSigned("x", otherSSH) }, gitrepo.SignatureUntrusted, "ssh"},
		{"signed tag", config.VerifyTag, func(r *gittest.Repo) { r.Commit("c"); r.TagSigned("v1.0.0", "release", trustedPGP) }, gitrepo.SignatureVerified, "openpgp"},
		{"unsigned annotated tag", config.VerifyTag, func(r *gittest.Repo) { r.Commit("c"); r.Tag("v1.0.0", "release") }, gitrepo.SignatureUnsigned, ""},
		{"lightweight tag", config.VerifyTag, func(r *gittest.Repo) { r.Commit("c"); r.Tag("v1.0.0", "") }, gitrepo.SignatureUnsigned, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := gittest.NewRepo(t, t.TempDir(), "fleet")
			tt.make(repo)
			ref := config.GitRef{Branch: "main"}
			if tt.mode == config.VerifyTag {
				ref = config.GitRef{Tag: "v1.0.0"}
			}
			src := &config.Source{Metadata: config.ObjectMeta{Name: "fleet"}, Spec: config.SourceSpec{
				URL: repo.FileURL(), Ref: ref,
				Verify: &config.Verification{Mode: tt.mode, OpenPGPKeys: []string{pgpFile}, SSHKeys: []string{sshFile}},
			}}
			got, err := gitrepo.NewFetcher(t.TempDir()).Fetch(context.Background(), src)
			var check gitrepo.SignatureCheck
			if tt.wantStatus == gitrepo.SignatureVerified {
				if err != nil {
					t.Fatalf("a trusted signature was refused: %v", err)
				}
				check = got.Revision.Signature
				if check.Signer == "" {
					t.Errorf("verified without naming the signer: %+v", check)
				}
			} else {
				var sigErr *gitrepo.SignatureError
				if !errors.As(err, &sigErr) {
					t.Fatalf("err = %v, want *SignatureError", err)
				}
				check = sigErr.Check
				if check.Reason == "" || !strings.Contains(err.Error(), "is refused") {
					t.Errorf("refusal without a reason: %v", err)
				}
			}
			if check.Status != tt.wantStatus || check.Kind != tt.wantKind || check.Object != tt.mode {
				t.Errorf("check = %+v, want status %s, kind %q, object %s", check, tt.wantStatus, tt.wantKind, tt.mode)
			}
		})
	}
}

func TestFetchOverSSH(t *testing.T) {
	root := t.TempDir()
	repo := gittest.NewRepo(t, root, "fleet")
	head := repo.Commit("over ssh")
	keys := t.TempDir()
	clientKey, clientPub := gittest.NewSSHKeyFile(t, keys)
	strangerKey, _ := gittest.NewSSHKeyFile(t, t.TempDir())
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(clientPub))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := gitserver.StartSSH(gitserver.SSHOptions{Root: root, AuthorizedKeys: []ssh.PublicKey{pub}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	knownHosts := filepath.Join(keys, "known_hosts")
	os.WriteFile(knownHosts, []byte(srv.KnownHostsLine()+"\n"), 0o644)
	impostor, err := gitserver.StartSSH(gitserver.SSHOptions{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	impostor.Close()
	wrongHosts := filepath.Join(keys, "wrong_known_hosts")
	os.WriteFile(wrongHosts, []byte(strings.Replace(impostor.KnownHostsLine(), impostor.Addr[strings.LastIndex(impostor.Addr, ":")+1:], srv.Addr[strings.LastIndex(srv.Addr, ":")+1:], 1)+"\n"), 0o644)
	emptyHosts := filepath.Join(keys, "empty_known_hosts")
	os.WriteFile(emptyHosts, nil, 0o644)

	tests := []struct {
		name     string
		auth     config.SSHAuth
		wantErr  string
		wantHead bool
	}{
		{"known host, authorized key", config.SSHAuth{PrivateKey: config.SecretRef{File: clientKey}, KnownHosts: knownHosts}, "", true},
		{"unknown host refused", config.SSHAuth{PrivateKey: config.SecretRef{File: clientKey}, KnownHosts: emptyHosts}, "key is unknown", false},
		{"changed host key refused", config.SSHAuth{PrivateKey: config.SecretRef{File: clientKey}, KnownHosts: wrongHosts}, "key mismatch", false},
		{"host check turned off by the Source", config.SSHAuth{PrivateKey: config.SecretRef{File: clientKey}, InsecureIgnoreHostKey: true}, "", true},
		{"key the server does not know", config.SSHAuth{PrivateKey: config.SecretRef{File: strangerKey}, KnownHosts: knownHosts}, "unable to authenticate", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth := tt.auth
			src := &config.Source{Metadata: config.ObjectMeta{Name: "fleet"}, Spec: config.SourceSpec{
				URL: srv.RepoURL("fleet"), Ref: config.GitRef{Branch: "main"}, Auth: &config.GitAuth{SSH: &auth},
			}}
			got, err := gitrepo.NewFetcher(t.TempDir()).Fetch(context.Background(), src)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "PRIVATE KEY") {
					t.Errorf("error shows the private key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Revision.Commit != head {
				t.Errorf("commit = %s, want %s", got.Revision.Commit, head)
			}
		})
	}
}
