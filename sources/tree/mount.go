package tree

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	iofs "io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
)

// Fetched is what the caller fetched for one Reference: a file's content, or a remote base's
// repository as a view and the folder in it that the base names.
type Fetched struct {
	Ref *Reference
	// File is a fetched file's content.
	File []byte
	// Tree is a fetched repository; Folder the base's folder in it ("" for its root).
	Tree   *FS
	Folder string
	// Bytes is what fetching it downloaded, charged against the render's MaxTotalBytes (at
	// least the size of File).
	Bytes int64
}

// Fetcher fetches what a view's kustomizations name outside the repository, for a view that
// allows remote bases (see AllowRemoteBases). Package remote implements it.
type Fetcher interface {
	// Fetch fetches one reference within limits: a file at most MaxFileSize bytes, everything
	// at most MaxTotalBytes (what is left of the render's budget).
	Fetch(ctx context.Context, ref *Reference, limits Limits) (Fetched, error)
}

// mountFolder is where fetched content is placed, under the folder of the kustomization that
// named it (kustomize loads files only from under a kustomization's folder).
const mountFolder = ".flotilla-remote"

// WithFetched returns a new view: this repository, plus every fetched reference placed under
// mountFolder in the folder its paths are relative to, and each reference rewritten to name
// that place. The documents that held references are served as kustomize decoded them, in
// JSON. Nothing fetched can reach outside its own mount: a fetched repository's symlinks that
// leave it are left out, and CheckKustomizations confines the kustomizations inside a mount to
// it. The new view's read counters start where this one's are, plus the bytes fetched.
func (fs *FS) WithFetched(fetched []Fetched) (*FS, error) {
	view, err := fs.clone()
	if err != nil {
		return nil, err
	}
	changed := map[*document]bool{}
	for _, f := range fetched {
		ref := f.Ref
		if ref.set == nil || ref.doc == nil {
			return nil, fmt.Errorf("%s: %s: remote reference cannot be rewritten", display(ref.File), ref.Field)
		}
		if err := view.charge(ref.doc.path, max(f.Bytes, int64(len(f.File)))); err != nil {
			return nil, fmt.Errorf("%s: %s: fetched %s: %w", display(ref.File), ref.Field, quoteURL(ref.Value), err)
		}
		sum := sha256.Sum256([]byte(ref.Value))
		mount := path.Join(ref.Dir, mountFolder, hex.EncodeToString(sum[:6]))
		var local string
		switch {
		case f.Tree != nil:
			if err := view.mountTree(mount, f.Tree); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", display(ref.File), ref.Field, err)
			}
			local = path.Join(mount, f.Folder)
		default:
			local = path.Join(mount, fileName(ref.Value))
			data := f.File
			if err := view.addFile(local, &entry{size: int64(len(data)), open: bytesOpener(data)}); err != nil {
				return nil, err
			}
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(local, ref.Dir), "/")
		if ref.Keyed {
			key, _, ok := strings.Cut(ref.Value, "=")
			if !ok || isRemote(ref.Value) {
				key = path.Base(ref.Value) // kustomize's key for a file named without one
			}
			rel = key + "=" + rel
		}
		ref.set(rel)
		changed[ref.doc] = true
	}
	for doc := range changed {
		var out bytes.Buffer
		for i, d := range doc.docs {
			b, err := json.Marshal(d)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", display(doc.path), err)
			}
			if i > 0 {
				out.WriteString("\n---\n")
			}
			out.Write(b)
		}
		data := out.Bytes()
		view.files[doc.path] = &entry{size: int64(len(data)), open: bytesOpener(data)}
	}
	return view, nil
}

// mountTree places every file of t under mount.
func (fs *FS) mountTree(mount string, t *FS) error {
	if fs.isMount(mount) {
		return nil // the same reference, fetched for another kustomization in this folder
	}
	if fs.exists(mount) {
		return fmt.Errorf("the repository has its own %s; rename it: Flotilla places fetched remote bases there", display(mount))
	}
	fs.mounts = append(fs.mounts, mount)
	names := make([]string, 0, len(t.files))
	for p := range t.files {
		names = append(names, p)
	}
	sort.Strings(names)
	if err := fs.addDir(mount); err != nil {
		return err
	}
	for _, p := range names {
		e := t.files[p]
		if e.link != "" {
			if _, err := t.realPath(p); err != nil {
				continue // leaves the fetched repository: not part of it
			}
		}
		if err := fs.addFile(path.Join(mount, p), e); err != nil {
			return err
		}
	}
	return nil
}

// isMount reports whether p is where a fetched repository was placed.
func (fs *FS) isMount(p string) bool {
	for _, m := range fs.mounts {
		if m == p {
			return true
		}
	}
	return false
}

// confinement returns the folder that references from dir may not climb above: the fetched
// repository it is in, or the repository's root.
func (fs *FS) confinement(dir string) string {
	root := "/"
	for _, m := range fs.mounts {
		if within(m, dir) && len(m) > len(root) {
			root = m
		}
	}
	return root
}

// clone returns a copy of the view's index, with its read counters, that can be changed
// without changing this one.
func (fs *FS) clone() (*FS, error) {
	view := newFS(fs.limits)
	view.allowRemote, view.fetcher = fs.allowRemote, fs.fetcher
	view.mounts = append(view.mounts, fs.mounts...)
	err := fs.FileSystem.Walk("/", func(p string, info iofs.FileInfo, err error) error {
		if err != nil || !info.IsDir() {
			return err
		}
		return view.FileSystem.MkdirAll(p)
	})
	if err != nil {
		return nil, err
	}
	for p, e := range fs.files {
		if err := view.addFile(p, e); err != nil {
			return nil, err
		}
	}
	for p, r := range fs.refused {
		view.refused[p] = r
	}
	fs.mu.Lock()
	view.bytesRead, view.documents, view.nodes = fs.bytesRead, fs.documents, fs.nodes
	fs.mu.Unlock()
	return view, nil
}

// fileNamePattern is what a fetched file's name keeps of its URL.
var fileNamePattern = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// fileName is a safe local name for a fetched URL: its last path component.
func fileName(rawURL string) string {
	u := rawURL
	if _, after, ok := strings.Cut(u, "="); ok && !isRemote(u) {
		u = after
	}
	u, _, _ = strings.Cut(u, "?")
	u, _, _ = strings.Cut(u, "#")
	name := fileNamePattern.ReplaceAllString(path.Base(u), "_")
	if name == "" || name == "." || name == ".." || name == "_" {
		name = "file"
	}
	return name
}

func bytesOpener(data []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}
