package tree

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// FromGit indexes a commit's tree. Submodules are left out. An entry whose name the view
// refuses (see names.go) is recorded as such, and not entered: go-git's own check of tree paths
// (which stops the walk at the first control character) is turned off for this, as the view
// never writes a name to disk that it has not checked.
func FromGit(t *object.Tree, limits Limits) (*FS, error) {
	view := newFS(limits)
	walker := object.NewTreeWalker(t, true, nil)
	walker.SkipPathValidation()
	defer walker.Close()
	for {
		name, e, err := walker.Next()
		if errors.Is(err, io.EOF) {
			return view, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read tree: %w", err)
		}
		p := "/" + name
		switch e.Mode {
		case filemode.Dir, filemode.Regular, filemode.Executable, filemode.Deprecated, filemode.Symlink:
			if !view.admit(p, e.Mode == filemode.Dir) {
				continue
			}
		}
		switch e.Mode {
		case filemode.Dir:
			err = view.addDir(p)
		case filemode.Regular, filemode.Executable, filemode.Deprecated:
			err = addBlob(view, t, p, e)
		case filemode.Symlink:
			err = addGitSymlink(view, t, p, e)
		default: // submodules: not part of this repository
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("index %s: %w", quote(name), err)
		}
	}
}

// entryFile opens a tree entry's blob. The name given to go-git is a placeholder: go-git checks
// names it is given, and this one has already been checked by admit.
func entryFile(t *object.Tree, e object.TreeEntry) (*object.File, error) {
	return t.TreeEntryFile(&object.TreeEntry{Name: "entry", Mode: e.Mode, Hash: e.Hash})
}

func addBlob(view *FS, t *object.Tree, p string, e object.TreeEntry) error {
	file, err := entryFile(t, e)
	if err != nil {
		return err
	}
	return view.addFile(p, &entry{size: file.Size, open: file.Reader, blob: e.Hash.String()})
}

func addGitSymlink(view *FS, t *object.Tree, p string, e object.TreeEntry) error {
	file, err := entryFile(t, e)
	if err != nil {
		return err
	}
	if file.Size > 4096 {
		return fmt.Errorf("symlink target longer than 4096 bytes")
	}
	target, err := file.Contents()
	if err != nil {
		return err
	}
	return view.addFile(p, &entry{link: target})
}

// FromDir indexes the folder root as a repository: the .git folder is left out, symlinks are
// recorded (and resolved only inside root when read), nothing outside root is ever opened. An
// entry whose name the view refuses (see names.go) is recorded as such, and not entered.
func FromDir(root string, limits Limits) (*FS, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	view := newFS(limits)
	err = filepath.WalkDir(root, func(full string, d fs.DirEntry, err error) error {
		rel, relErr := filepath.Rel(root, full)
		if relErr != nil {
			return relErr
		}
		p := path.Clean("/" + filepath.ToSlash(rel))
		switch {
		case err != nil && p == "/":
			return withoutPath(err)
		case err != nil:
			return fmt.Errorf("%s: %w", display(p), withoutPath(err))
		}
		switch {
		case d.IsDir() && d.Name() == ".git" && full != root:
			return filepath.SkipDir
		case d.IsDir() && !view.admit(p, true):
			return filepath.SkipDir // refused, and everything under it
		case d.IsDir():
			return view.addDir(p)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(full)
			if err != nil {
				return fmt.Errorf("%s: %w", display(p), withoutPath(err))
			}
			return view.addFile(p, &entry{link: filepath.ToSlash(target)})
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return fmt.Errorf("%s: %w", display(p), withoutPath(err))
			}
			return view.addFile(p, &entry{size: info.Size(), open: func() (io.ReadCloser, error) { return openRegular(full) }})
		default:
			return nil // sockets, devices, pipes: not repository content
		}
	})
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", quote(root), err)
	}
	return view, nil
}

// withoutPath is err without the file system path an *fs.PathError repeats (the path is named
// by the caller, quoted if need be).
func withoutPath(err error) error {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return pathErr.Err
	}
	return err
}

// openRegular opens a file only if it is still a regular file, not a symlink swapped in after
// indexing.
func openRegular(full string) (io.ReadCloser, error) {
	f, err := os.OpenFile(full, os.O_RDONLY|openNoFollow, 0)
	if err != nil {
		return nil, withoutPath(err) // the caller names the file
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("no longer a regular file")
	}
	return f, nil
}

// FromFiles indexes an in-memory repository: path → content, with "->target" as content of a
// path ending in "@" making a symlink (e.g. "app/passwd@": "->/etc/passwd"). For tests and
// fuzzing.
func FromFiles(files map[string]string, limits Limits) (*FS, error) {
	view := newFS(limits)
	for name, content := range files {
		p := path.Clean("/" + name)
		if link, ok := strings.CutPrefix(content, "->"); ok && strings.HasSuffix(p, "@") {
			if err := view.addFile(strings.TrimSuffix(p, "@"), &entry{link: link}); err != nil {
				return nil, err
			}
			continue
		}
		data := []byte(content)
		if err := view.addFile(p, &entry{size: int64(len(data)), open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		}}); err != nil {
			return nil, err
		}
	}
	return view, nil
}
