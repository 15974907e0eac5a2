package gitrepo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/internal/keylock"
)

// seenPrefix prefixes the refs that record, per branch or tag, the last commit Fetch returned,
// to detect history rewrites.
const seenPrefix = "refs/flotilla/seen/"

// Fetcher keeps one cached bare repository per Source in a folder.
type Fetcher struct {
	dir   string
	locks keylock.Map // one fetch per Source at a time
}

// NewFetcher caches repositories in dir.
func NewFetcher(dir string) *Fetcher {
	return &Fetcher{dir: dir}
}

// DefaultCacheDir is where repositories are cached unless told otherwise: flotilla/sources
// under the user's cache directory.
func DefaultCacheDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the user's cache directory: %w", err)
	}
	return filepath.Join(base, "flotilla", "sources"), nil
}

// Fetched is a resolved revision with its tree.
type Fetched struct {
	Revision Revision
	// Tree is the commit's root tree in the cached repository.
	Tree *object.Tree
	// Downloaded is false when the wanted commit was cached and nothing was fetched.
	Downloaded bool
	// Rewrite is set when a branch or tag now points at a commit that does not descend from the
	// last one Fetch returned: someone rewrote history (force-push, moved tag).
	Rewrite *HistoryRewrite
}

// HistoryRewrite names the commit that was seen before and the one that replaced it.
type HistoryRewrite struct {
	Previous string `json:"previous"`
	Current  string `json:"current"`
}

// Fetch resolves the Source's ref on the remote, downloads what is missing and returns the
// revision. Its errors are *FetchError, naming the field of the Source to look at; when the
// signature policy refuses the revision, a *SignatureError is inside.
func (f *Fetcher) Fetch(ctx context.Context, src *config.Source) (*Fetched, error) {
	unlock := f.locks.Lock(src.Metadata.Name)
	defer unlock()
	fetched, err := f.fetch(ctx, src)
	if err != nil {
		return nil, newFetchError(src, err)
	}
	return fetched, nil
}

func (f *Fetcher) fetch(ctx context.Context, src *config.Source) (*Fetched, error) {
	creds, err := credentialsFor(src)
	if err != nil {
		return nil, err
	}
	repo, err := f.open(src)
	if err != nil {
		return nil, err
	}
	remote, err := repo.Remote("origin")
	if err != nil {
		return nil, fmt.Errorf("cached repository: %w", err)
	}
	url := config.RedactURL(src.Spec.URL)
	advertised, err := remote.ListContext(ctx, &git.ListOptions{Auth: creds.auth, PeelingOption: git.AppendPeeled})
	if err != nil {
		return nil, transportError("list refs of", url, creds.redact(err), src.Spec.Auth != nil)
	}
	want, err := resolveRef(src.Spec.Ref, url, advertised)
	if err != nil {
		return nil, err
	}
	out := &Fetched{}
	if !hasObject(repo, want.hash) {
		err := repo.FetchContext(ctx, &git.FetchOptions{
			RemoteName: "origin", RefSpecs: want.refSpecs, Auth: creds.auth, Tags: git.NoTags, Force: true,
		})
		if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
			return nil, transportError("fetch", url, creds.redact(err), src.Spec.Auth != nil)
		}
		out.Downloaded = true
	}
	if want.localRef != "" { // keep the local ref in step even when nothing was downloaded
		if err := repo.Storer.SetReference(plumbing.NewHashReference(want.localRef, want.hash)); err != nil {
			return nil, fmt.Errorf("cached repository: %w", err)
		}
	}
	commit, tag, err := peel(repo, want.hash)
	if err != nil {
		if want.localRef == "" {
			return nil, inField("spec.ref.commit", fmt.Errorf("commit %s is not on any branch or tag of %s: give a commit that is, or a branch or tag", want.hash, url))
		}
		return nil, fmt.Errorf("resolve %s: %w", want.describe, err)
	}
	out.Revision = Revision{
		Source: src.Metadata.Name, Ref: want.describe, Tag: want.tag, Commit: commit.Hash.String(),
		Author: person(commit.Author), Committer: person(commit.Committer), Message: commit.Message,
		Signature: SignatureCheck{Status: SignatureNotChecked},
	}
	if v := src.Spec.Verify; v != nil {
		if out.Revision.Signature, err = checkSignature(v, commit, tag); err != nil {
			return nil, err
		}
		if out.Revision.Signature.Status != SignatureVerified {
			return nil, inField("spec.verify", &SignatureError{Source: src.Metadata.Name, Commit: commit.Hash.String(), Check: out.Revision.Signature})
		}
	}
	if want.tracksRewrites {
		if out.Rewrite, err = recordSeen(repo, want.localRef, commit); err != nil {
			return nil, err
		}
	}
	if out.Tree, err = commit.Tree(); err != nil {
		return nil, fmt.Errorf("tree of commit %s: %w", commit.Hash, err)
	}
	return out, nil
}

// open returns the Source's cached bare repository, creating it on first use. The folder name
// includes a hash of the URL, so a Source whose URL changes starts a fresh cache.
func (f *Fetcher) open(src *config.Source) (*git.Repository, error) {
	sum := sha256.Sum256([]byte(src.Spec.URL))
	dir := filepath.Join(f.dir, src.Metadata.Name+"-"+hex.EncodeToString(sum[:])[:12])
	repo, err := git.PlainOpen(dir)
	if err == nil {
		return repo, nil
	}
	if !errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, fmt.Errorf("open cached repository %s: %w", dir, err)
	}
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		return nil, fmt.Errorf("create source cache: %w", err)
	}
	if repo, err = git.PlainInit(dir, true); err != nil {
		return nil, fmt.Errorf("create cached repository %s: %w", dir, err)
	}
	if _, err := repo.CreateRemote(&gitconfig.RemoteConfig{Name: "origin", URLs: []string{src.Spec.URL}}); err != nil {
		return nil, fmt.Errorf("create cached repository %s: %w", dir, err)
	}
	return repo, nil
}

func hasObject(repo *git.Repository, hash plumbing.Hash) bool {
	return repo.Storer.HasEncodedObject(hash) == nil
}

// peel follows annotated tags from hash to a commit, returning the outermost tag if any.
func peel(repo *git.Repository, hash plumbing.Hash) (*object.Commit, *object.Tag, error) {
	var outer *object.Tag
	for range 10 {
		tag, err := repo.TagObject(hash)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			commit, err := repo.CommitObject(hash)
			return commit, outer, err
		}
		if err != nil {
			return nil, nil, err
		}
		if outer == nil {
			outer = tag
		}
		hash = tag.Target
	}
	return nil, nil, fmt.Errorf("tag %s nests more than 10 deep", hash)
}

func checkSignature(v *config.Verification, commit *object.Commit, tag *object.Tag) (SignatureCheck, error) {
	keys, err := loadTrustedKeys(v)
	if err != nil {
		return SignatureCheck{}, err
	}
	if v.Mode == config.VerifyTag {
		return keys.checkTag(tag)
	}
	return keys.checkCommit(commit)
}

// recordSeen remembers commit as the last one returned for ref and reports a history rewrite if
// the previous one is not its ancestor.
func recordSeen(repo *git.Repository, ref plumbing.ReferenceName, commit *object.Commit) (*HistoryRewrite, error) {
	seen := plumbing.ReferenceName(seenPrefix + ref.String())
	var rewrite *HistoryRewrite
	if previous, err := repo.Reference(seen, false); err == nil && previous.Hash() != commit.Hash {
		old, err := repo.CommitObject(previous.Hash())
		descends := false
		if err == nil {
			descends, err = old.IsAncestor(commit)
		}
		if err != nil || !descends {
			rewrite = &HistoryRewrite{Previous: previous.Hash().String(), Current: commit.Hash.String()}
		}
	}
	if err := repo.Storer.SetReference(plumbing.NewHashReference(seen, commit.Hash)); err != nil {
		return nil, fmt.Errorf("cached repository: %w", err)
	}
	return rewrite, nil
}
