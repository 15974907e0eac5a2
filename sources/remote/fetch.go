package remote

import (
	"context"
	"strings"

	"github.com/flotilla-dev/flotilla/sources/tree"
)

// Fetch fetches one remote reference of a kustomization for package tree: a remote base (a Git
// repository, written as kustomize writes them) as a view of the commit, anything else as one
// file over HTTP(S). At most limits.MaxTotalBytes are read (what is left of the render's
// budget), and at most limits.MaxFileSize for a file; Fetched.Bytes says how many were.
func (f *Fetcher) Fetch(ctx context.Context, ref *tree.Reference, limits tree.Limits) (tree.Fetched, error) {
	max := limits.MaxTotalBytes
	if max <= 0 {
		return tree.Fetched{}, &LimitError{URL: Redact(ref.Value), Max: 0}
	}
	if ref.Base && isRepository(ref.Value) {
		base, err := ParseGitBase(ref.Value)
		if err != nil {
			return tree.Fetched{}, err
		}
		t, n, err := f.Repository(ctx, base, limits.MaxFileSize, max)
		if err != nil {
			return tree.Fetched{Bytes: n}, err
		}
		view, err := tree.FromGit(t, limits)
		if err != nil {
			return tree.Fetched{Bytes: n}, err
		}
		return tree.Fetched{Tree: view, Folder: base.Path, Bytes: n}, nil
	}
	value := ref.Value
	if ref.Keyed {
		if _, after, ok := strings.Cut(value, "="); ok && !strings.Contains(value[:strings.Index(value, "=")], "://") {
			value = after
		}
	}
	data, err := f.File(ctx, value, min(max, limits.MaxFileSize))
	if err != nil {
		return tree.Fetched{}, err
	}
	return tree.Fetched{File: data, Bytes: int64(len(data))}, nil
}

// isRepository reports whether a resources entry names a Git repository rather than a file:
// kustomize's markers (a "//" after the host, ".git", "_git/", a ref or version query, a
// github.com path or a "git::" prefix).
func isRepository(v string) bool {
	lower := strings.ToLower(v)
	if strings.HasPrefix(lower, "git::") || strings.HasPrefix(lower, "github.com/") {
		return true
	}
	_, rest, ok := cutScheme(lower)
	if !ok {
		return true // scp-like and the rest: refused by ParseGitBase with a reason
	}
	rest, query, _ := strings.Cut(rest, "?")
	return strings.Contains(rest, "//") || strings.Contains(rest, ".git") || strings.Contains(rest, "_git/") ||
		strings.Contains("&"+query, "&ref=") || strings.Contains("&"+query, "&version=") ||
		strings.HasPrefix(rest, "github.com/")
}
