package tree

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// File names.
//
// The skeleton is kustomize's in-memory file system, which accepts only names made of ASCII
// letters, digits, "-", "_", "." and ":" (and no ".."). A repository may hold any other name, and
// a hostile one may hold names with control characters (an escape sequence that rewrites the
// terminal showing an error), newlines (a forged log line) or invalid UTF-8. Such an entry is not
// put in the skeleton, so that it does not break the renders that never look at it: it is kept
// in FS.refused, and only a question about it, or about a path under it, is refused. IsDir and
// Exists answer false for it, ReadDir and Glob leave it out, and ReadFile, CleanedAbs and
// ReadDir refuse it with an error that names it quoted:
//
//	file name "app/a\x1bb.yaml" has a control character; refused
//
// Every error of this package that shows a path shows it through display, which quotes (as %q
// does) a path that has a control or other unprintable character, invalid UTF-8 or a backslash.

// refusedName is an entry of the repository that the view does not serve.
type refusedName struct {
	folder bool
	reason string
}

// refusal is the error for a question about p, which is or is under the refused entry at name.
func (r refusedName) refusal(name string) error {
	kind := "file"
	if r.folder {
		kind = "folder"
	}
	return fmt.Errorf("%s name %s %s; refused", kind, strconv.Quote(strings.TrimPrefix(name, "/")), r.reason)
}

// nameProblem returns why the skeleton cannot hold a file or folder called name, "" if it can.
// It accepts exactly what kustomize's in-memory file system accepts (isLegalFileNameForCreation
// in sigs.k8s.io/kustomize/kyaml/filesys).
func nameProblem(name string) string {
	switch {
	case !utf8.ValidString(name):
		return "is not valid UTF-8"
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "has a control character"
	case strings.Contains(name, `\`):
		return "has a backslash"
	case name == "" || name == "." || name == "..":
		return "is not a file name"
	case strings.EqualFold(name, ".git"):
		return "is reserved for Git"
	case strings.Contains(name, ".."):
		return `is not supported (kustomize's in-memory file system refuses ".." inside a name)`
	}
	for _, r := range name {
		if !legalNameRune(r) {
			return `is not supported (names may use only ASCII letters, digits and "-_.:")`
		}
	}
	return ""
}

func legalNameRune(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("-_.:", r)
}

// admit reports whether p (absolute, as the index spells it) can go into the skeleton. If a
// component of p cannot, the first such component is recorded as refused (a folder when it is
// not p's last component) and admit returns false.
func (fs *FS) admit(p string, folder bool) bool {
	if p == "/" {
		return true
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, part := range parts {
		problem := nameProblem(part)
		if problem == "" {
			continue
		}
		name := "/" + strings.Join(parts[:i+1], "/")
		if _, ok := fs.refused[name]; !ok {
			fs.refused[name] = refusedName{folder: folder || i < len(parts)-1, reason: problem}
		}
		return false
	}
	return true
}

// needsQuoting reports whether s cannot be shown as it is: it has invalid UTF-8, a character
// that is not printable (control characters, and format characters such as bidirectional
// overrides), or a backslash, which would make an escaped form ambiguous.
func needsQuoting(s string) bool {
	if !utf8.ValidString(s) || strings.Contains(s, `\`) {
		return true
	}
	return strings.IndexFunc(s, func(r rune) bool { return !strconv.IsPrint(r) }) >= 0
}

// quote is s as it is, or %q-quoted if it cannot be shown as it is.
func quote(s string) string {
	if needsQuoting(s) {
		return strconv.Quote(s)
	}
	return s
}

// display is a path as users know it: relative to the repository root, quoted if it cannot be
// shown as it is.
func display(p string) string {
	if p == "/" {
		return "."
	}
	return quote(strings.TrimPrefix(p, "/"))
}
