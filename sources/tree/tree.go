package tree

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
	"sync/atomic"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Limits bound what one render may read.
type Limits struct {
	// MaxFileSize bounds one file, in bytes.
	MaxFileSize int64
	// MaxTotalBytes bounds all files read by one render, in bytes.
	MaxTotalBytes int64
	// MaxDocuments bounds the objects read by one render: YAML documents, with a List counted
	// as its items. It is counted before any YAML parser sees a file.
	MaxDocuments int
	// MaxAliasNodes bounds the nodes that YAML aliases may expand to in one file.
	MaxAliasNodes int
	// MaxKustomizations bounds the kustomization loads of one render (kustomize loads a
	// folder again each time it is named).
	MaxKustomizations int
	// MaxDepth bounds the nesting of collections in one YAML document.
	MaxDepth int
	// MaxNodes bounds the YAML nodes (keys, values, list items) read by one render.
	MaxNodes int
}

// DefaultLimits fit any sane fleet repository: 16 MiB per file; per render 256 MiB, 10,000
// objects (documents and List items), 2,000,000 YAML nodes and 1,000 kustomization loads; YAML
// nested at most 200 deep (the deepest CRDs are about 35), aliases expanding to at most 100,000
// nodes per file.
func DefaultLimits() Limits {
	return Limits{MaxFileSize: 16 << 20, MaxTotalBytes: 256 << 20, MaxDocuments: 10_000, MaxAliasNodes: 100_000,
		MaxKustomizations: 1_000, MaxDepth: 200, MaxNodes: 2_000_000}
}

// LimitError reports a limit a repository went past, naming it.
type LimitError struct {
	Path  string
	Limit string
	Value int64
	Max   int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s: %s: %d is over the limit of %d", e.Path, e.Limit, e.Value, e.Max)
}

// ErrAbandoned is returned by every read once the render reading the view was abandoned.
var ErrAbandoned = errors.New("the render was stopped")

// ErrReadOnly is returned by every method that would write.
var ErrReadOnly = errors.New("the repository view is read-only")

// entry is one file of the index. Folders live only in the skeleton.
type entry struct {
	size int64
	// open reads the content; nil for a symlink.
	open func() (io.ReadCloser, error)
	// link is the symlink's target, as written in the link.
	link string
	// blob is the Git blob hash, for entries read from a commit.
	blob string
}

// FS is a read-only, confined view of a repository. It implements filesys.FileSystem.
type FS struct {
	// skeleton holds the folders and empty files, so that kustomize's path handling (Glob,
	// CleanedAbs, ReadDir) behaves exactly as with its own in-memory file system.
	filesys.FileSystem
	files map[string]*entry // by absolute path, e.g. /apps/base/deployment.yaml
	// refused holds the entries whose names the skeleton cannot hold (see names.go), by
	// absolute path; nothing under a refused folder is indexed.
	refused map[string]refusedName
	limits  Limits
	// remote allows kustomizations to name resources that are not in the repository.
	allowRemote bool
	fetcher     Fetcher
	// mounts are the folders where fetched remote bases were placed (see WithFetched).
	mounts []string

	// abandoned is set when the render reading the view stops waiting for it (see Abandon).
	abandoned atomic.Bool

	mu        sync.Mutex
	bytesRead int64
	documents int
	// kustomizations counts the kustomization files kustomize read; walking is set while Walk
	// reads them, which does not count.
	kustomizations int
	walking        bool
	nodes          int
	refusal        error
	// data are the files named only as generator data (files, env files), which kustomize
	// does not parse as YAML; CheckKustomizations fills it.
	data map[string]bool
	// trace, when set, records every question asked (see Recording).
	trace *Trace
}

func newFS(limits Limits) *FS {
	return &FS{FileSystem: filesys.MakeFsInMemory(), files: map[string]*entry{}, refused: map[string]refusedName{}, limits: limits}
}

// AllowRemoteBases lets kustomizations name files and bases outside the repository: the render
// fetches them with f (CheckKustomizations returns them, WithFetched places them in a new view),
// so that kustomize itself never reaches the network.
func (fs *FS) AllowRemoteBases(f Fetcher) {
	fs.allowRemote = true
	fs.fetcher = f
}

// RemoteFetcher returns the Fetcher given to AllowRemoteBases, or nil.
func (fs *FS) RemoteFetcher() Fetcher { return fs.fetcher }

// addDir indexes a folder; a folder whose name the skeleton cannot hold is recorded as refused.
func (fs *FS) addDir(p string) error {
	if !fs.admit(p, true) {
		return nil
	}
	return fs.FileSystem.MkdirAll(p)
}

// addFile indexes a file or symlink; one whose name (or a folder's above it) the skeleton cannot
// hold is recorded as refused.
func (fs *FS) addFile(p string, e *entry) error {
	if !fs.admit(p, false) {
		return nil
	}
	if err := fs.FileSystem.MkdirAll(path.Dir(p)); err != nil {
		return err
	}
	if err := fs.FileSystem.WriteFile(p, nil); err != nil {
		return err
	}
	fs.files[p] = e
	return nil
}

// clean turns any path kustomize passes into the index's absolute form.
func clean(p string) string {
	return path.Clean("/" + strings.TrimLeft(p, "/"))
}

// ReadFile returns a file's content after the checks described in the package documentation.
// Symlinks on the way are followed inside the repository (see symlink.go).
func (fs *FS) ReadFile(name string) ([]byte, error) {
	p := clean(name)
	arg, r, err := fs.lookup(p)
	if err != nil {
		fs.trace.add("ReadFile", name, "error: "+err.Error())
		fs.refuse(err)
		return nil, err
	}
	e := fs.files[r.real]
	if r.missing || e == nil {
		fs.trace.add("ReadFile", name, "not a file")
		return fs.FileSystem.ReadFile(arg) // a folder or a missing file: kustomize's own error
	}
	data, err := fs.read(r.real, e)
	if err != nil {
		fs.refuse(err)
	}
	if fs.trace != nil {
		answer := "blob:" + e.blob
		switch {
		case e.blob != "":
		case err == nil:
			sum := sha256.Sum256(data)
			answer = "sha256:" + hex.EncodeToString(sum[:])
		default: // refused before or while reading: what a replay computes
			answer = fs.entryFingerprint(e)
		}
		fs.trace.add("ReadFile", name, answer)
	}
	return data, err
}

// read reads the file e at p (its resolved path) within the limits, and checks its content.
func (fs *FS) read(p string, e *entry) ([]byte, error) {
	if fs.abandoned.Load() {
		return nil, ErrAbandoned
	}
	if e.size > fs.limits.MaxFileSize {
		return nil, &LimitError{Path: display(p), Limit: "file size in bytes", Value: e.size, Max: fs.limits.MaxFileSize}
	}
	if err := fs.charge(p, e.size); err != nil {
		return nil, err
	}
	r, err := e.open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", display(p), err)
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, fs.limits.MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", display(p), err)
	}
	if int64(len(data)) > fs.limits.MaxFileSize { // grew since it was indexed
		return nil, &LimitError{Path: display(p), Limit: "file size in bytes", Value: int64(len(data)), Max: fs.limits.MaxFileSize}
	}
	if err := fs.checkContent(p, data); err != nil {
		return nil, err
	}
	return data, nil
}

// escapes reports whether the relative path link, taken from dir, climbs above the root, as
// written: symlinks on the way are not followed (realPath follows them).
func escapes(dir, link string) bool {
	depth := strings.Count(strings.Trim(dir, "/"), "/") + 1
	if dir == "/" {
		depth = 0
	}
	for _, part := range strings.Split(link, "/") {
		switch part {
		case "..":
			depth--
			if depth < 0 {
				return true
			}
		case ".", "":
		default:
			depth++
		}
	}
	return false
}

func (fs *FS) charge(p string, size int64) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.bytesRead+size > fs.limits.MaxTotalBytes {
		return &LimitError{Path: display(p), Limit: "bytes read by one render", Value: fs.bytesRead + size, Max: fs.limits.MaxTotalBytes}
	}
	fs.bytesRead += size
	return nil
}

// Open is not used by kustomize builds; it is refused rather than served without checks.
func (fs *FS) Open(name string) (filesys.File, error) {
	return nil, fmt.Errorf("%s: open is not supported; use ReadFile", display(clean(name)))
}

// Create is refused: the view is read-only.
func (fs *FS) Create(string) (filesys.File, error) { return nil, ErrReadOnly }

// Mkdir is refused: the view is read-only.
func (fs *FS) Mkdir(string) error { return ErrReadOnly }

// MkdirAll is refused: the view is read-only.
func (fs *FS) MkdirAll(string) error { return ErrReadOnly }

// RemoveAll is refused: the view is read-only.
func (fs *FS) RemoveAll(string) error { return ErrReadOnly }

// WriteFile is refused: the view is read-only.
func (fs *FS) WriteFile(string, []byte) error { return ErrReadOnly }

// refuse remembers the first read the view refused.
func (fs *FS) refuse(err error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.refusal == nil {
		fs.refusal = err
	}
}

// Refusal returns the first read the view refused (a limit, a symlink that leaves the
// repository, a refused name), or nil. Kustomize wraps such an error in its own messages, or
// tries something else and reports that instead; the refusal is the cause to report.
func (fs *FS) Refusal() error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.refusal
}

// Abandon makes every later read of the view fail with ErrAbandoned: kustomize cannot be
// stopped, so a render that is no longer waited for is ended at its next read.
func (fs *FS) Abandon() { fs.abandoned.Store(true) }

// Stats are what a render read.
type Stats struct {
	BytesRead int64
	Documents int
}

// Stats returns how much has been read through the view so far.
func (fs *FS) Stats() Stats {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return Stats{BytesRead: fs.bytesRead, Documents: fs.documents}
}

// Limits returns the limits the view enforces.
func (fs *FS) Limits() Limits { return fs.limits }

// Fresh returns a view of the same repository with its read counters at zero, so that each render
// gets the full limits without indexing the repository again.
func (fs *FS) Fresh() *FS {
	return &FS{FileSystem: fs.FileSystem, files: fs.files, refused: fs.refused, limits: fs.limits, allowRemote: fs.allowRemote, fetcher: fs.fetcher, mounts: fs.mounts}
}

// RemoteBasesAllowed reports whether AllowRemoteBases was called.
func (fs *FS) RemoteBasesAllowed() bool { return fs.allowRemote }
