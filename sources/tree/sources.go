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
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// FromGit indexes a commit's tree. Submodules are left out.
func FromGit(t *object.Tree, limits Limits) (*FS, error) {
	view := newFS(limits)
	walker := object.NewTreeWalker(t, true, nil)
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
			return nil, fmt.Errorf("index %s: %w", name, err)
		}
	}
}

func addBlob(view *FS, t *object.Tree, p string, e object.TreeEntry) error {
	file, err := t.TreeEntryFile(&e)
	if err != nil {
		return err
	}
	return view.addFile(p, &entry{size: file.Size, open: file.Reader, blob: e.Hash.String()})
}

func addGitSymlink(view *FS, t *object.Tree, p string, e object.TreeEntry) error {
	file, err := t.TreeEntryFile(&e)
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
// recorded (and resolved only inside root when read), nothing outside root is ever opened.
func FromDir(root string, limits Limits) (*FS, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	view := newFS(limits)
	err = filepath.WalkDir(root, func(full string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, full)
		if err != nil {
			return err
		}
		p := path.Clean("/" + filepath.ToSlash(rel))
		switch {
		case d.IsDir() && d.Name() == ".git" && full != root:
			return filepath.SkipDir
		case d.IsDir():
			return view.addDir(p)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(full)
			if err != nil {
				return err
			}
			return view.addFile(p, &entry{link: filepath.ToSlash(target)})
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			return view.addFile(p, &entry{size: info.Size(), open: func() (io.ReadCloser, error) { return openRegular(full) }})
		default:
			return nil // sockets, devices, pipes: not repository content
		}
	})
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", root, err)
	}
	return view, nil
}

// openRegular opens a file only if it is still a regular file, not a symlink swapped in after
// indexing.
func openRegular(full string) (io.ReadCloser, error) {
	f, err := os.OpenFile(full, os.O_RDONLY|openNoFollow, 0)
	if err != nil {
		return nil, err
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

// Materialize writes every file of the view under dir, through the same checks as ReadFile, with
// symlinks replaced by the files they point at. Rendering with remote bases needs the repository
// on disk, because kustomize reads downloaded bases through the same file system.
func (fs *FS) Materialize(dir string) error {
	names := make([]string, 0, len(fs.files))
	for p := range fs.files {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		data, err := fs.ReadFile(p)
		if err != nil {
			return err
		}
		full := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(p, "/")))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
