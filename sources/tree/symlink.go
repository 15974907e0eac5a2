package tree

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Symlinks.
//
// A symlink is indexed as an entry with its target and is an empty file in the skeleton.
// Questions are answered as kustomize on disk answers them, where every path goes through
// filepath.EvalSymlinks: a symlink anywhere in a path, to a file or to a folder, is followed
// (CleanedAbs returns the resolved path, so kustomize's own checks, such as a loader's root, work
// on real paths as they do on disk). A symlink is followed only inside the repository: one whose
// target is absolute, or climbs above the root with "..", is refused, and so is a path that goes
// through more than maxHops symlinks (a loop).

// maxHops bounds the symlinks followed to resolve one path, as Linux does (ELOOP after 40).
const maxHops = 40

// resolution is a path with its symlinks resolved.
type resolution struct {
	// real is the path with every symlink resolved; past a component that does not exist, the
	// rest of the path is taken as it is.
	real string
	// followed reports whether a symlink was followed.
	followed bool
	// missing reports whether some component of real does not exist.
	missing bool
	// dangling, when set, is why real does not exist: a symlink whose target does not.
	dangling error
}

// step is a path component still to resolve, with the symlink whose target it came from ("" for
// the asked path).
type step struct{ name, link, target string }

// walk resolves p (absolute and clean, as clean returns it) through the symlinks of the view.
// It fails for a symlink that leaves the repository, for too many symlinks, and for a refused
// name (see names.go) on the way.
func (fs *FS) walk(p string) (resolution, error) {
	r := resolution{real: "/"}
	var stack []step // the next component last
	push := func(s string, link, target string) {
		parts := strings.Split(s, "/")
		for i := len(parts) - 1; i >= 0; i-- {
			stack = append(stack, step{parts[i], link, target})
		}
	}
	push(strings.TrimPrefix(p, "/"), "", "")
	hops := 0
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch s.name {
		case "", ".":
			continue
		case "..": // only in a symlink's target: p is clean
			switch {
			case r.missing: // "missing/..": resolves to nothing, as on disk
				return r, danglingError(s.link, s.target)
			case r.real == "/":
				return r, leavesError(s.link, s.target)
			}
			r.real = path.Dir(r.real)
			continue
		}
		next := path.Join(r.real, s.name)
		if r.missing {
			r.real = next
			continue
		}
		if refused, ok := fs.refused[next]; ok {
			return r, refused.refusal(next)
		}
		e, isFile := fs.files[next]
		switch {
		case isFile && e.link != "":
			if hops++; hops > maxHops {
				return r, fmt.Errorf("%s: too many levels of symlinks", display(p))
			}
			if path.IsAbs(e.link) {
				return r, leavesError(next, e.link)
			}
			r.followed = true
			push(e.link, next, e.link)
			continue
		case isFile:
			r.real = next
			if len(stack) > 0 { // a file has nothing under it
				r.missing = true
				if stack[len(stack)-1].link != "" {
					r.dangling = danglingError(stack[len(stack)-1].link, stack[len(stack)-1].target)
				}
			}
		case fs.FileSystem.IsDir(next):
			r.real = next
		default:
			r.real = next
			r.missing = true
			if s.link != "" {
				r.dangling = danglingError(s.link, s.target)
			}
		}
	}
	return r, nil
}

func leavesError(link, target string) error {
	return fmt.Errorf("%s: symlink to %s leaves the repository; refused", display(link), quote(target))
}

func danglingError(link, target string) error {
	return fmt.Errorf("%s: symlink to %s, which does not exist", display(link), quote(target))
}

// realPath returns p (absolute in the view, e.g. "/apps/x") with every symlink in it resolved
// inside the repository, as kustomize on disk would see it. It fails for a symlink that leaves
// the repository, for too many levels of symlinks (a loop), and for a name the view refuses (see
// names.go). A path that does not exist resolves to itself beyond its last existing component,
// without an error; only a symlink whose target climbs with ".." out of a component that does
// not exist fails, as it resolves to nothing.
func (fs *FS) realPath(p string) (string, error) {
	r, err := fs.walk(clean(p))
	if err != nil {
		return "", err
	}
	return r.real, nil
}

// RealPath returns the path (in the view, e.g. "/apps/x") with every symlink in it resolved
// inside the repository, as kustomize sees it; see realPath.
func (fs *FS) RealPath(p string) (string, error) { return fs.realPath(p) }

// lookup resolves name for a question to the skeleton. It returns the path to ask: name itself
// when no symlink was followed, so that the answers and messages are kustomize's own as before,
// and otherwise the resolved path. It fails when the question must be refused, or when name is
// a dangling symlink (or a path under one).
func (fs *FS) lookup(name string) (string, resolution, error) {
	if name == "" {
		return name, resolution{missing: true}, nil // kustomize's own answer for ""
	}
	p := clean(name)
	r, err := fs.walk(p)
	switch {
	case err != nil:
		return "", r, err
	case r.dangling != nil:
		return "", r, r.dangling
	case r.missing && needsQuoting(p):
		return "", r, fmt.Errorf("%s: %w", display(p), os.ErrNotExist)
	case r.followed:
		return r.real, r, nil
	}
	return name, r, nil
}

// resolve follows symlinks inside the repository and returns the file's entry, nil for a path
// that is not a file of the index.
func (fs *FS) resolve(p string) (*entry, error) {
	_, r, err := fs.lookup(p)
	if err != nil || r.missing {
		return nil, err
	}
	return fs.files[r.real], nil
}

// The answers of the view, shared by its methods and by Trace.Matches, which replays them.

func (fs *FS) isDir(name string) bool {
	arg, r, err := fs.lookup(name)
	return err == nil && !r.missing && fs.FileSystem.IsDir(arg)
}

func (fs *FS) exists(name string) bool {
	arg, r, err := fs.lookup(name)
	return err == nil && !r.missing && fs.FileSystem.Exists(arg)
}

func (fs *FS) readDir(name string) ([]string, error) {
	arg, _, err := fs.lookup(name)
	if err != nil {
		return nil, err
	}
	return fs.FileSystem.ReadDir(arg)
}

func (fs *FS) cleanedAbs(name string) (filesys.ConfirmedDir, string, error) {
	arg, _, err := fs.lookup(name)
	if err != nil {
		return "", "", err
	}
	return fs.FileSystem.CleanedAbs(arg)
}

// glob lists the files matching pattern as kustomize's in-memory file system does (files only,
// hidden ones only when the pattern's last component is hidden, sorted), with symlinked folders
// followed: the matches are paths through them, as filepath.Glob on disk returns them.
func (fs *FS) glob(pattern string) ([]string, error) {
	if _, err := filepath.Match(pattern, ""); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(pattern, "/") {
		return nil, nil // the skeleton's paths are all absolute
	}
	matches := []string{"/"}
	for _, part := range strings.Split(pattern[1:], "/") {
		var next []string
		for _, dir := range matches {
			names, err := fs.readDir(dir)
			if err != nil {
				continue // not a folder, or refused: nothing under it matches
			}
			for _, name := range names {
				if ok, _ := filepath.Match(part, name); ok {
					next = append(next, path.Join(dir, name))
				}
			}
		}
		matches = next
	}
	var files []string
	for _, m := range matches {
		if !fs.isDir(m) {
			files = append(files, m)
		}
	}
	if !filesys.IsHiddenFilePath(pattern) {
		files = filesys.RemoveHiddenFiles(files)
	}
	sort.Strings(files)
	return files, nil
}
