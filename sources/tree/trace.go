package tree

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Trace records every question a render asked of a view (which paths exist, which are folders,
// what a folder or glob lists, what each file read holds), so that a later view of another
// revision can tell whether the same render would see exactly the same inputs, and so produce
// exactly the same objects.
type Trace struct {
	mu      sync.Mutex
	queries []query
}

type query struct{ op, arg, answer string }

func (t *Trace) add(op, arg, answer string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.queries = append(t.queries, query{op, arg, answer})
	t.mu.Unlock()
}

// Recording returns a fresh view of the same repository that records every question asked of
// it into the returned Trace.
func (fs *FS) Recording() (*FS, *Trace) {
	view := fs.Fresh()
	view.trace = &Trace{}
	return view, view.trace
}

// Matches reports whether view answers every recorded question exactly as the recorded view did.
func (t *Trace) Matches(view *FS) bool {
	t.mu.Lock()
	queries := t.queries
	t.mu.Unlock()
	quiet := view.Fresh() // answers without recording or charging limits twice
	for _, q := range queries {
		if quiet.answer(q.op, q.arg) != q.answer {
			return false
		}
	}
	return true
}

// answer runs one recorded question again.
func (fs *FS) answer(op, arg string) string {
	switch op {
	case "IsDir":
		return fmt.Sprint(fs.FileSystem.IsDir(arg))
	case "Exists":
		return fmt.Sprint(fs.FileSystem.Exists(arg))
	case "ReadDir":
		names, err := fs.FileSystem.ReadDir(arg)
		return listAnswer(names, err)
	case "Glob":
		names, err := fs.FileSystem.Glob(arg)
		return listAnswer(names, err)
	case "CleanedAbs":
		dir, file, err := fs.FileSystem.CleanedAbs(arg)
		return fmt.Sprintf("%s|%s|%v", dir, file, err)
	case "ReadFile":
		return fs.fingerprint(arg)
	}
	return "unknown question " + op
}

func listAnswer(names []string, err error) string {
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	return fmt.Sprintf("%s|%v", strings.Join(sorted, "\x00"), err)
}

// fingerprint identifies a file's content: its Git blob hash, or the SHA-256 of what it holds.
func (fs *FS) fingerprint(name string) string {
	e, err := fs.resolve(clean(name))
	switch {
	case err != nil:
		return "error: " + err.Error()
	case e == nil:
		return "not a file"
	case e.blob != "":
		return "blob:" + e.blob
	}
	r, err := e.open()
	if err != nil {
		return "error: " + err.Error()
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(r, fs.limits.MaxFileSize+1)); err != nil {
		return "error: " + err.Error()
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// IsDir reports whether the path is a folder of the repository.
func (fs *FS) IsDir(name string) bool {
	answer := fs.FileSystem.IsDir(name)
	fs.trace.add("IsDir", name, fmt.Sprint(answer))
	return answer
}

// Exists reports whether the path is in the repository.
func (fs *FS) Exists(name string) bool {
	answer := fs.FileSystem.Exists(name)
	fs.trace.add("Exists", name, fmt.Sprint(answer))
	return answer
}

// ReadDir lists a folder.
func (fs *FS) ReadDir(name string) ([]string, error) {
	names, err := fs.FileSystem.ReadDir(name)
	fs.trace.add("ReadDir", name, listAnswer(names, err))
	return names, err
}

// Glob lists the paths matching a pattern.
func (fs *FS) Glob(pattern string) ([]string, error) {
	names, err := fs.FileSystem.Glob(pattern)
	fs.trace.add("Glob", pattern, listAnswer(names, err))
	return names, err
}

// CleanedAbs splits a path into its confirmed folder and file name.
func (fs *FS) CleanedAbs(name string) (filesys.ConfirmedDir, string, error) {
	dir, file, err := fs.FileSystem.CleanedAbs(name)
	fs.trace.add("CleanedAbs", name, fmt.Sprintf("%s|%s|%v", dir, file, err))
	return dir, file, err
}

// Walk is not used by kustomize builds; it is refused so that no question goes unrecorded.
func (fs *FS) Walk(name string, _ filepath.WalkFunc) error {
	return fmt.Errorf("%s: walk is not supported", display(clean(name)))
}
