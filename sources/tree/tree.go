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

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Limits bound what one render may read.
type Limits struct {
	// MaxFileSize bounds one file, in bytes.
	MaxFileSize int64
	// MaxTotalBytes bounds all files read by one render, in bytes.
	MaxTotalBytes int64
	// MaxDocuments bounds the YAML documents read by one render (an upper bound on objects).
	MaxDocuments int
	// MaxAliasNodes bounds the nodes that YAML aliases may expand to in one file.
	MaxAliasNodes int
}

// DefaultLimits fit any sane fleet repository: 16 MiB per file, 256 MiB and 10,000 documents per
// render, 100,000 alias-expanded nodes per file.
func DefaultLimits() Limits {
	return Limits{MaxFileSize: 16 << 20, MaxTotalBytes: 256 << 20, MaxDocuments: 10_000, MaxAliasNodes: 100_000}
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
	files  map[string]*entry // by absolute path, e.g. /apps/base/deployment.yaml
	limits Limits
	// remote allows kustomizations to name resources that are not in the repository.
	allowRemote bool

	mu        sync.Mutex
	bytesRead int64
	documents int
	// trace, when set, records every question asked (see Recording).
	trace *Trace
}

func newFS(limits Limits) *FS {
	return &FS{FileSystem: filesys.MakeFsInMemory(), files: map[string]*entry{}, limits: limits}
}

// AllowRemoteBases lets kustomization files name resources outside the repository. Rendering
// such a kustomization still needs a file system that can hold the downloaded bases; see the
// render package.
func (fs *FS) AllowRemoteBases() { fs.allowRemote = true }

func (fs *FS) addDir(p string) error {
	return fs.FileSystem.MkdirAll(p)
}

func (fs *FS) addFile(p string, e *entry) error {
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

// display is a path as users know it: relative to the repository root.
func display(p string) string {
	if p == "/" {
		return "."
	}
	return strings.TrimPrefix(p, "/")
}

// ReadFile returns a file's content after the checks described in the package documentation.
func (fs *FS) ReadFile(name string) ([]byte, error) {
	p := clean(name)
	e, err := fs.resolve(p)
	if err != nil {
		return nil, err
	}
	if e == nil {
		fs.trace.add("ReadFile", name, "not a file")
		return fs.FileSystem.ReadFile(p) // a folder or a missing file: kustomize's own error
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
	if fs.trace != nil {
		fingerprint := "blob:" + e.blob
		if e.blob == "" {
			sum := sha256.Sum256(data)
			fingerprint = "sha256:" + hex.EncodeToString(sum[:])
		}
		fs.trace.add("ReadFile", name, fingerprint)
	}
	return data, nil
}

// resolve follows symlinks inside the repository and returns the file's entry, nil for a path
// that is not a file of the index.
func (fs *FS) resolve(p string) (*entry, error) {
	start := p
	for hops := 0; ; hops++ {
		e, ok := fs.files[p]
		if !ok || e.link == "" {
			return e, nil
		}
		if hops == 40 {
			return nil, fmt.Errorf("%s: too many levels of symlinks", display(start))
		}
		if path.IsAbs(e.link) || escapes(path.Dir(p), e.link) {
			return nil, fmt.Errorf("%s: symlink to %s leaves the repository; refused", display(start), e.link)
		}
		target := path.Join(path.Dir(p), e.link)
		if _, isFile := fs.files[target]; !isFile {
			if fs.FileSystem.IsDir(target) {
				return nil, fmt.Errorf("%s: symlink to the folder %s; only symlinks to files are supported", display(start), e.link)
			}
			return nil, fmt.Errorf("%s: symlink to %s, which does not exist", display(start), e.link)
		}
		p = target
	}
}

// escapes reports whether a relative link from dir climbs above the root.
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
	return &FS{FileSystem: fs.FileSystem, files: fs.files, limits: fs.limits, allowRemote: fs.allowRemote}
}

// RemoteBasesAllowed reports whether AllowRemoteBases was called.
func (fs *FS) RemoteBasesAllowed() bool { return fs.allowRemote }
