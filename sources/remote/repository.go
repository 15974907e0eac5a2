package remote

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
)

// GitBase is a remote base as kustomize writes it: a repository, a ref and a folder in it.
type GitBase struct {
	// URL is the repository's http or https URL.
	URL string
	// Ref is a branch, tag or commit; empty for the remote's HEAD.
	Ref string
	// Path is the kustomization's folder in the repository, "" for its root.
	Path string
}

// ParseGitBase reads a remote base the way kustomize does (https://host/org/repo//path?ref=v1,
// https://host/org/repo.git/path, https://host/_git/repo/path, github.com/org/repo/path, with
// "ref" or "version" in the query), and accepts only http and https: SSH, git:// and file://
// bases are refused, because they would use the agent's keys or files.
func ParseGitBase(value string) (GitBase, error) {
	v := value
	if len(v) >= 5 && strings.EqualFold(v[:5], "git::") {
		v = v[5:]
	}
	v, query, _ := strings.Cut(v, "?")
	lower := strings.ToLower(v)
	switch {
	case strings.HasPrefix(lower, "https://"), strings.HasPrefix(lower, "http://"):
	case strings.HasPrefix(lower, "github.com/"):
		v = "https://" + v
	default:
		return GitBase{}, fmt.Errorf("%s: only http and https remote bases are fetched (SSH, git:// and file:// would use the agent's own keys or files)", Redact(value))
	}
	scheme, rest, _ := cutScheme(v)
	host, repoAndPath, _ := strings.Cut(rest, "/")
	repo, sub, ok := splitRepoPath(repoAndPath)
	if !ok || host == "" {
		return GitBase{}, fmt.Errorf("%s: not a remote base (want https://host/org/repo//path?ref=...)", Redact(value))
	}
	if cleaned := path.Clean(strings.TrimLeft(sub, "/")); cleaned == ".." || strings.HasPrefix(cleaned, "../") {
		return GitBase{}, fmt.Errorf("%s: the path leaves the repository", Redact(value))
	}
	sub = strings.Trim(path.Clean("/"+sub), "/")
	values, _ := url.ParseQuery(query)
	ref := values.Get("version")
	if r := values.Get("ref"); r != "" {
		ref = r
	}
	return GitBase{URL: strings.ToLower(scheme) + "://" + host + "/" + repo, Ref: ref, Path: sub}, nil
}

// splitRepoPath splits org/repo//path, org/repo.git/path, _git/repo/path and org/repo/path
// (two segments) as kustomize does.
func splitRepoPath(s string) (repo, sub string, ok bool) {
	if i := strings.Index(s, "_git/"); i >= 0 {
		name, rest, _ := strings.Cut(s[i+len("_git/"):], "/")
		return s[:i+len("_git/")] + name, rest, true
	}
	if i := strings.Index(s, "//"); i >= 0 {
		return s[:i], s[i+2:], s[:i] != ""
	}
	if i := strings.Index(s, ".git"); i >= 0 {
		return s[:i+len(".git")], s[i+len(".git"):], true
	}
	parts := strings.SplitN(s, "/", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	if len(parts) == 2 {
		return s, "", true
	}
	return parts[0] + "/" + parts[1], parts[2], true
}

// Repository fetches one commit of a remote base's repository (its ref, or the remote's HEAD)
// with depth 1 into memory and returns the commit's tree. At most max bytes are downloaded, and
// the objects they hold may not be larger than maxObject bytes each or max bytes together once
// inflated (see checkPack). It also returns the bytes downloaded (every response body read).
func (f *Fetcher) Repository(ctx context.Context, base GitBase, maxObject, max int64) (*object.Tree, int64, error) {
	shown := Redact(base.URL)
	ctx, cancel := f.withTimeout(ctx)
	defer cancel()
	budget := max
	tree, err := f.repository(ctx, base, maxObject, max, &budget)
	if err != nil {
		return nil, max - budget, explain(shown, err)
	}
	return tree, max - budget, nil
}

// repository fetches the commit, reading at most *budget bytes of response bodies and taking
// what it reads off *budget.
func (f *Fetcher) repository(ctx context.Context, base GitBase, maxObject, max int64, budget *int64) (*object.Tree, error) {
	if _, err := parseHTTP(base.URL); err != nil {
		return nil, err
	}
	endpoint, err := transport.NewEndpoint(base.URL)
	if err != nil {
		return nil, err
	}
	client := &http.Client{
		Transport:     &budgetTransport{next: f.client.Transport, url: Redact(base.URL), budget: budget, max: max},
		CheckRedirect: f.client.CheckRedirect,
		Timeout:       f.opts.Timeout,
	}
	session, err := githttp.NewClient(client).NewUploadPackSession(endpoint, nil)
	if err != nil {
		return nil, err
	}
	defer session.Close()
	advertised, err := session.AdvertisedReferencesContext(ctx)
	if err != nil {
		return nil, err
	}
	want, err := resolve(advertised, base.Ref)
	if err != nil {
		return nil, err
	}
	req := packp.NewUploadPackRequestFromCapabilities(advertised.Capabilities)
	req.Wants = []plumbing.Hash{want}
	if advertised.Capabilities.Supports(capability.Shallow) {
		req.Depth = packp.DepthCommits(1)
		if err := req.Capabilities.Set(capability.Shallow); err != nil {
			return nil, err
		}
	}
	if advertised.Capabilities.Supports(capability.NoProgress) {
		if err := req.Capabilities.Set(capability.NoProgress); err != nil {
			return nil, err
		}
	}
	resp, err := session.UploadPack(ctx, req)
	if err != nil {
		return nil, err
	}
	defer resp.Close()
	pack, err := io.ReadAll(sidebandReader(req.Capabilities, resp)) // at most max bytes: the budget
	if err != nil {
		return nil, err
	}
	if err := checkPack(pack, maxObject, max); err != nil {
		return nil, err
	}
	storage := memory.NewStorage()
	if err := packfile.UpdateObjectStorage(storage, bytes.NewReader(pack)); err != nil {
		return nil, err
	}
	commit, err := object.GetCommit(storage, want)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", want, err)
	}
	return commit.Tree()
}

// resolve finds the commit a ref names: a branch, a tag (annotated tags are peeled when the
// server says where they point), a full commit hash, or HEAD when ref is empty.
func resolve(advertised *packp.AdvRefs, ref string) (plumbing.Hash, error) {
	refs, err := advertised.AllReferences()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if ref == "" {
		if advertised.Head != nil {
			return *advertised.Head, nil
		}
		ref = "HEAD"
	}
	if plumbing.IsHash(ref) {
		return plumbing.NewHash(ref), nil
	}
	for _, name := range []plumbing.ReferenceName{
		plumbing.ReferenceName(ref),
		plumbing.NewBranchReferenceName(ref),
		plumbing.NewTagReferenceName(ref),
	} {
		if peeled, ok := advertised.Peeled[name.String()]; ok {
			return peeled, nil
		}
		if r, ok := refs[name]; ok && r.Type() == plumbing.HashReference {
			return r.Hash(), nil
		}
	}
	return plumbing.ZeroHash, fmt.Errorf("ref %q is not a branch, tag or commit of the repository", ref)
}

func sidebandReader(caps *capability.List, resp *packp.UploadPackResponse) interface{ Read([]byte) (int, error) } {
	switch {
	case caps.Supports(capability.Sideband64k):
		return sideband.NewDemuxer(sideband.Sideband64k, resp)
	case caps.Supports(capability.Sideband):
		return sideband.NewDemuxer(sideband.Sideband, resp)
	}
	return resp
}
