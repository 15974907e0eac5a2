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
	// asked holds the questions recorded, each once: kustomize (and the reference check before
	// it) asks many twice, and a view answers the same question the same way.
	asked map[question]bool
}

type question struct{ op, arg string }

type query struct{ op, arg, answer string }

func (t *Trace) add(op, arg, answer string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	q := question{op, arg}
	if t.asked[q] {
		return
	}
	if t.asked == nil {
		t.asked = map[question]bool{}
	}
	t.asked[q] = true
	t.queries = append(t.queries, query{op, arg, answer})
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

// answer runs one recorded question again, through the same code that answered it.
func (fs *FS) answer(op, arg string) string {
	switch op {
	case "IsDir":
		return fmt.Sprint(fs.isDir(arg))
	case "Exists":
		return fmt.Sprint(fs.exists(arg))
	case "ReadDir":
		names, err := fs.readDir(arg)
		return listAnswer(names, err)
	case "Glob":
		names, err := fs.glob(arg)
		return listAnswer(names, err)
	case "CleanedAbs":
		dir, file, err := fs.cleanedAbs(arg)
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

// fingerprint is what ReadFile records for name: its error, "not a file", or what identifies
// the content of the file it resolves to.
func (fs *FS) fingerprint(name string) string {
	e, err := fs.resolve(clean(name))
	switch {
	case err != nil:
		return "error: " + err.Error()
	case e == nil:
		return "not a file"
	}
	return fs.entryFingerprint(e)
}

// entryFingerprint identifies a file's content: its Git blob hash, or the SHA-256 of what it
// holds.
func (fs *FS) entryFingerprint(e *entry) string {
	if e.blob != "" {
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

// IsDir reports whether the path is a folder of the repository, symlinks followed.
func (fs *FS) IsDir(name string) bool {
	answer := fs.isDir(name)
	fs.trace.add("IsDir", name, fmt.Sprint(answer))
	return answer
}

// Exists reports whether the path is in the repository, symlinks followed: false for a symlink
// that leads nowhere or out of the repository, and for a refused name.
func (fs *FS) Exists(name string) bool {
	answer := fs.exists(name)
	fs.trace.add("Exists", name, fmt.Sprint(answer))
	return answer
}

// ReadDir lists a folder, symlinks followed. Entries with refused names are left out.
func (fs *FS) ReadDir(name string) ([]string, error) {
	names, err := fs.readDir(name)
	fs.trace.add("ReadDir", name, listAnswer(names, err))
	return names, err
}

// Glob lists the files matching a pattern, through symlinked folders. Entries with refused
// names are left out.
func (fs *FS) Glob(pattern string) ([]string, error) {
	names, err := fs.glob(pattern)
	fs.trace.add("Glob", pattern, listAnswer(names, err))
	return names, err
}

// CleanedAbs splits a path into its confirmed folder and file name, with every symlink resolved
// as kustomize on disk resolves them (filepath.EvalSymlinks).
func (fs *FS) CleanedAbs(name string) (filesys.ConfirmedDir, string, error) {
	dir, file, err := fs.cleanedAbs(name)
	fs.trace.add("CleanedAbs", name, fmt.Sprintf("%s|%s|%v", dir, file, err))
	return dir, file, err
}

// Walk is not used by kustomize builds; it is refused so that no question goes unrecorded.
func (fs *FS) Walk(name string, _ filepath.WalkFunc) error {
	return fmt.Errorf("%s: walk is not supported", display(clean(name)))
}
