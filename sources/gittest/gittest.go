package gittest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// Repo is a bare repository Root/NAME.git and a work tree whose origin it is.
type Repo struct {
	t    testing.TB
	Name string
	// Bare is the bare repository's folder; serve its parent with gitserver, or use FileURL.
	Bare string
	// Work is the work tree.
	Work string
	// clock makes commit times distinct and reproducible.
	clock time.Time
}

// NewRepo creates root/NAME.git and a work tree on branch main.
func NewRepo(t testing.TB, root, name string) *Repo {
	t.Helper()
	r := &Repo{t: t, Name: name, Bare: filepath.Join(root, name+".git"), Work: filepath.Join(t.TempDir(), name), clock: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	run(t, root, "init", "--quiet", "--bare", "--initial-branch=main", r.Bare)
	run(t, root, "init", "--quiet", "--initial-branch=main", r.Work)
	r.Git("remote", "add", "origin", r.Bare)
	return r
}

// FileURL is the bare repository's file:// URL.
func (r *Repo) FileURL() string { return "file://" + r.Bare }

// Git runs git in the work tree and returns its trimmed output.
func (r *Repo) Git(args ...string) string {
	r.t.Helper()
	return run(r.t, r.Work, args...)
}

// Write writes files (path → content) into the work tree, creating folders.
func (r *Repo) Write(files map[string]string) {
	r.t.Helper()
	for path, content := range files {
		full := filepath.Join(r.Work, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
}

// Commit commits everything in the work tree, pushes main and returns the commit SHA.
func (r *Repo) Commit(message string) string {
	r.t.Helper()
	r.clock = r.clock.Add(time.Minute)
	r.Git("add", "-A")
	runEnv(r.t, r.Work, []string{"GIT_AUTHOR_DATE=" + r.clock.Format(time.RFC3339), "GIT_COMMITTER_DATE=" + r.clock.Format(time.RFC3339)},
		"commit", "--quiet", "--allow-empty", "-m", message)
	r.Git("push", "--quiet", "--force", "origin", "HEAD:main")
	return r.Git("rev-parse", "HEAD")
}

// CommitTree commits everything in the work tree as Commit does and returns the commit's root
// tree, read from the bare repository with go-git.
func (r *Repo) CommitTree(message string) *object.Tree {
	r.t.Helper()
	sha := r.Commit(message)
	repo, err := git.PlainOpen(r.Bare)
	if err != nil {
		r.t.Fatal(err)
	}
	c, err := repo.CommitObject(plumbing.NewHash(sha))
	if err != nil {
		r.t.Fatal(err)
	}
	t, err := c.Tree()
	if err != nil {
		r.t.Fatal(err)
	}
	return t
}

// CommitSigned commits everything, signed by signer, pushes main and returns the SHA.
func (r *Repo) CommitSigned(message string, signer git.Signer) string {
	r.t.Helper()
	r.Git("add", "-A")
	repo, err := git.PlainOpen(r.Work)
	if err != nil {
		r.t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	r.clock = r.clock.Add(time.Minute)
	who := &object.Signature{Name: "Test Author", Email: "author@example.com", When: r.clock}
	hash, err := wt.Commit(message, &git.CommitOptions{Author: who, Committer: who, Signer: signer, AllowEmptyCommits: true})
	if err != nil {
		r.t.Fatal(err)
	}
	r.Git("push", "--quiet", "--force", "origin", "HEAD:main")
	return hash.String()
}

// Tag creates a tag on HEAD and pushes it: annotated when message is set, else lightweight.
func (r *Repo) Tag(name, message string) {
	r.t.Helper()
	if message == "" {
		r.Git("tag", name)
	} else {
		r.Git("tag", "-a", name, "-m", message)
	}
	r.Git("push", "--quiet", "--force", "origin", "refs/tags/"+name)
}

// TagSigned creates an annotated tag on HEAD signed with an OpenPGP key and pushes it.
func (r *Repo) TagSigned(name, message string, key *openpgp.Entity) {
	r.t.Helper()
	repo, err := git.PlainOpen(r.Work)
	if err != nil {
		r.t.Fatal(err)
	}
	head, err := repo.Head()
	if err != nil {
		r.t.Fatal(err)
	}
	who := &object.Signature{Name: "Test Tagger", Email: "tagger@example.com", When: r.clock}
	if _, err := repo.CreateTag(name, head.Hash(), &git.CreateTagOptions{Tagger: who, Message: message, SignKey: key}); err != nil {
		r.t.Fatal(err)
	}
	r.Git("push", "--quiet", "--force", "origin", "refs/tags/"+name)
}

func run(t testing.TB, dir string, args ...string) string {
	t.Helper()
	return runEnv(t, dir, nil, args...)
}

func runEnv(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Test Author", "GIT_AUTHOR_EMAIL=author@example.com",
		"GIT_COMMITTER_NAME=Test Committer", "GIT_COMMITTER_EMAIL=committer@example.com")
	cmd.Env = append(cmd.Env, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// NewOpenPGPKey creates an OpenPGP key pair for name and returns it with its armored public key.
func NewOpenPGPKey(t testing.TB, name string) (*openpgp.Entity, string) {
	t.Helper()
	entity, err := openpgp.NewEntity(name, "", strings.ToLower(strings.ReplaceAll(name, " ", "."))+"@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := entity.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return entity, buf.String()
}

// OpenPGPSigner signs commits with an OpenPGP key.
type OpenPGPSigner struct{ Key *openpgp.Entity }

// Sign returns an armored detached signature.
func (s OpenPGPSigner) Sign(message io.Reader) ([]byte, error) {
	var buf bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&buf, s.Key, message, nil); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// SSHSigner signs commits with an SSH key, as `git -c gpg.format=ssh` does.
type SSHSigner struct{ Signer ssh.Signer }

// NewSSHSigner creates an ed25519 key and returns its signer and authorized_keys line.
func NewSSHSigner(t testing.TB) (SSHSigner, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return SSHSigner{Signer: signer}, string(ssh.MarshalAuthorizedKey(signer.PublicKey()))
}

// Sign returns an armored SSH signature in the "git" namespace.
func (s SSHSigner) Sign(message io.Reader) ([]byte, error) {
	sig, err := sshsig.Sign(message, s.Signer, sshsig.HashSHA512, "git")
	if err != nil {
		return nil, err
	}
	return sshsig.Armor(sig), nil
}

// CommitSignedByGitCLI commits with `git commit -S` and an SSH key file (gpg.format=ssh), the way
// developers sign, and pushes main. It needs ssh-keygen on PATH.
func (r *Repo) CommitSignedByGitCLI(message, privateKeyFile string) string {
	r.t.Helper()
	r.Git("add", "-A")
	r.Git("-c", "gpg.format=ssh", "-c", "user.signingkey="+privateKeyFile, "commit", "--quiet", "--allow-empty", "-S", "-m", message)
	r.Git("push", "--quiet", "--force", "origin", "HEAD:main")
	return r.Git("rev-parse", "HEAD")
}

// NewSSHKeyFile creates an ed25519 key pair with ssh-keygen in dir and returns the private key
// file and the public key line.
func NewSSHKeyFile(t testing.TB, dir string) (string, string) {
	t.Helper()
	key := filepath.Join(dir, "id_ed25519")
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "signer@example.com", "-f", key).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return key, string(pub)
}
