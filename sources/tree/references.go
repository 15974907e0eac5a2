package tree

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resmap"
	sigsyaml "sigs.k8s.io/yaml"
)

// kustomizationNames are the file names kustomize reads as a kustomization.
var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

func isKustomizationName(name string) bool {
	for _, n := range kustomizationNames {
		if n == name {
			return true
		}
	}
	return false
}

// Reference is a string in a kustomization, or in a plugin configuration one names, that
// points outside the repository: a URL or a remote Git base.
type Reference struct {
	// File is the document that holds it, relative to the repository root.
	File string
	// Field is where, e.g. configMapGenerator[0].files[1].
	Field string
	// Value is the string as written.
	Value string
	// Base is set for resources, components and bases (and generators, transformers and
	// validators), which may name a Git repository; other fields name one file.
	Base bool
	// Keyed is set for generator files, written [key=]URL.
	Keyed bool
	// Dir is the folder the reference's relative paths start from: the kustomization's.
	Dir string

	doc *document
	set func(string)
}

// document is a file that holds references, decoded as kustomize decodes it, kept so that
// references can be rewritten (see Rewrite).
type document struct {
	path string
	docs []any
	// inline is set for configuration written inside a kustomization's string, which cannot
	// be rewritten.
	inline bool
}

// RemoteError refuses a reference to something outside the repository.
type RemoteError struct {
	File, Field, Value string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("%s: %s: URL is remote; the Source does not allow remote bases (spec.allowRemoteBases): %s",
		display(e.File), e.Field, quoteURL(e.Value))
}

// CheckKustomizations checks the kustomization in dir, everything it includes and every plugin configuration
// it names, before kustomize reads any of it:
//   - a string that kustomize could load from the network (a URL of any scheme, an scp-like
//     Git address, a github.com path) is refused unless remote bases are allowed, in which case
//     it is returned so that the caller can fetch it under its own limits;
//   - absolute paths and paths that climb out of the repository are refused;
//   - secretGenerator env files with a line that has no "=" are refused;
//   - the number of kustomization loads the render would make is bounded.
//
// Documents are decoded as kustomize decodes them (YAML to JSON, anchors and merge keys
// resolved, keys matched without regard to case), and only fields known to hold plain values
// are skipped (see fields.go).
func (fs *FS) CheckKustomizations(dir string) ([]*Reference, error) {
	w := &walker{fs: fs, loads: map[string]int{}, pluginDirs: map[string]bool{}, data: map[string]bool{}, parsed: map[string]bool{},
		plugins: resmap.NewFactory(provider.NewDepProvider().GetResourceFactory())}
	fs.setWalking(true)
	n, err := w.kustomization(clean(dir))
	fs.setWalking(false)
	if err != nil {
		return nil, err
	}
	for p := range w.parsed {
		delete(w.data, p)
	}
	fs.mu.Lock()
	fs.data = w.data
	fs.mu.Unlock()
	if max := fs.limits.MaxKustomizations; max > 0 && n > max {
		return nil, &LimitError{Path: display(clean(dir)), Limit: "kustomizations loaded by one render", Value: int64(n), Max: int64(max)}
	}
	return w.refs, nil
}

// maxCountedLoads is where counting kustomization loads stops: far past any limit, far from
// overflowing.
const maxCountedLoads = 1 << 40

type walker struct {
	fs *FS
	// loads memoises, per folder, how many kustomization loads building it makes (kustomize
	// loads a folder again each time it is named); -1 while it is being walked.
	loads      map[string]int
	pluginDirs map[string]bool
	refs       []*Reference
	// data are the files named as generator data (files, env files); parsed those named in
	// any other field, which kustomize may parse as YAML. Both are keyed by real path (symlinks
	// resolved), as the read that checks them sees the file.
	data, parsed map[string]bool
	// plugins parses plugin configuration as kustomize does (List items expanded, anchors and
	// merge keys resolved by kyaml), so that the walker checks what kustomize will use.
	plugins *resmap.Factory
}

// kustomization walks the kustomization in dir and returns how many kustomization loads
// building it makes.
func (w *walker) kustomization(dir string) (int, error) {
	if real, err := w.fs.realPath(dir); err == nil {
		dir = real // kustomize works on real paths, as on disk
	}
	switch n, seen := w.loads[dir]; {
	case seen && n < 0:
		return 0, nil // a cycle: kustomize reports it
	case seen:
		return n, nil
	}
	w.loads[dir] = -1
	file := w.fs.kustomizationFile(dir)
	if file == "" {
		w.loads[dir] = 0
		return 0, nil // not a kustomization: kustomize says so where it matters
	}
	data, err := w.fs.ReadFile(file)
	if err != nil {
		return 0, err
	}
	k, err := decodeLikeKustomize(data)
	if err != nil {
		return 0, fmt.Errorf("%s: not a valid kustomization: %w", display(file), err)
	}
	doc := &document{path: file, docs: []any{k}}
	root := w.fs.confinement(dir)
	loads := 1
	err = walkValue(k, "", "", nil, classifyKustomization, func(field string, r role, v string, set func(string)) error {
		more, err := w.value(doc, dir, root, field, r, v, set)
		loads = min(loads+more, maxCountedLoads) // saturates: 2^64 loads must not wrap around
		return err
	})
	if err != nil {
		return 0, err
	}
	w.loads[dir] = loads
	return loads, nil
}

// value checks one string of a kustomization and follows it into the folders and plugin
// configurations it names. It returns the kustomization loads that following it makes.
func (w *walker) value(doc *document, dir, root, field string, r role, v string, set func(string)) (int, error) {
	if r == roleInline {
		return 0, w.fs.checkInline(doc.path, field, v)
	}
	if r == rolePlugin && w.isInlinePlugin(doc.path, field, v) {
		return 0, w.pluginDocuments(&document{path: doc.path, inline: true}, dir, root, field+".", []byte(v))
	}
	target, err := w.check(doc, dir, root, field, r, v, set)
	if err != nil || target == "" {
		return 0, err
	}
	switch {
	case r == roleEnvFile && strings.HasPrefix(fold(field), fold("secretGenerator")):
		return 0, w.secretEnvFile(target)
	case r != roleBase && r != rolePlugin:
		return 0, nil
	case w.fs.IsDir(target):
		if r == rolePlugin {
			return w.pluginFolder(target, dir)
		}
		return w.kustomization(target)
	case r == rolePlugin && w.fs.isFile(target):
		return 0, w.pluginFile(target, dir, root)
	}
	return 0, nil
}

// check refuses a reference that is remote (unless allowed: then it is recorded), absolute, or
// above root, and returns the repository path it names: "" for a remote one, the string itself
// for inline content.
func (w *walker) check(doc *document, dir, root, field string, r role, v string, set func(string)) (string, error) {
	p := v
	if r == roleKeyedFile {
		if _, after, ok := strings.Cut(v, "="); ok {
			p = after
		}
	}
	if isRemote(v) || isRemote(p) {
		switch {
		case !w.fs.allowRemote:
			return "", &RemoteError{File: doc.path, Field: field, Value: v}
		case doc.inline:
			return "", fmt.Errorf("%s: %s: remote %s in inline configuration; move the configuration to a file of its own to fetch it", display(doc.path), field, quoteURL(v))
		}
		w.refs = append(w.refs, &Reference{File: display(doc.path), Field: field, Value: v, Dir: dir,
			Base: r == roleBase || r == rolePlugin, Keyed: r == roleKeyedFile, doc: doc, set: set})
		return "", nil
	}
	switch {
	case isInline(v):
		return v, w.fs.checkInline(doc.path, field, v) // content, not a path
	case strings.TrimSpace(p) == "":
		return "", nil
	case path.IsAbs(p):
		return "", fmt.Errorf("%s: %s: %s is an absolute path; paths are relative to the kustomization's folder", display(doc.path), field, quotePath(p))
	}
	target := path.Join(dir, p)
	if escapes(dir, p) || !within(root, target) {
		return "", fmt.Errorf("%s: %s: %s leaves the repository", display(doc.path), field, quotePath(p))
	}
	real, err := w.fs.realPath(target)
	if err != nil {
		return "", fmt.Errorf("%s: %s: %w", display(doc.path), field, err)
	}
	// By the file read, not the name: one file named through two symlinked paths is one file.
	if r == roleKeyedFile || r == roleEnvFile {
		w.data[real] = true
	} else {
		w.parsed[real] = true
	}
	if !within(root, real) {
		return "", fmt.Errorf("%s: %s: %s leaves the fetched remote base", display(doc.path), field, quotePath(p))
	}
	return target, nil
}

// decodeLikeKustomize decodes a document as kustomize does: YAML converted to JSON (anchors,
// aliases and merge keys resolved), then decoded, numbers kept as written.
func decodeLikeKustomize(data []byte) (any, error) {
	j, err := sigsyaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// walkValue calls visit for every string under v that classify does not call a plain value,
// with its field (configMapGenerator[0].files[1]) and role; set replaces the string. Patterns
// passed to classify use folded keys and "[]" for list items. Map keys are visited in sorted
// order, so that errors are reported in a stable order.
func walkValue(v any, field, pattern string, keys []string, classify func(string, []string) role, visit func(field string, r role, s string, set func(string)) error) error {
	switch v := v.(type) {
	case map[string]any:
		names := make([]string, 0, len(v))
		for k := range v {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			fk := fold(k)
			f, p, ks := joinField(field, k), joinField(pattern, fk), append(keys, fk)
			if classify(p, ks) == roleValue {
				continue
			}
			if s, ok := v[k].(string); ok {
				if err := visit(f, classify(p, ks), s, func(n string) { v[k] = n }); err != nil {
					return err
				}
				continue
			}
			if err := walkValue(v[k], f, p, ks, classify, visit); err != nil {
				return err
			}
		}
	case []any:
		for i := range v {
			f, p := field+"["+strconv.Itoa(i)+"]", pattern+"[]"
			if classify(p, keys) == roleValue {
				continue
			}
			if s, ok := v[i].(string); ok {
				if err := visit(f, classify(p, keys), s, func(n string) { v[i] = n }); err != nil {
					return err
				}
				continue
			}
			if err := walkValue(v[i], f, p, keys, classify, visit); err != nil {
				return err
			}
		}
	}
	return nil
}

func joinField(field, key string) string {
	if needsQuoting(key) || strings.ContainsAny(key, ".[]") {
		key = strconv.Quote(key)
	}
	if field == "" {
		return key
	}
	return field + "." + key
}

// isInline reports whether a string is content rather than a path (a patch or configuration
// written in the kustomization), for the checks that do not apply to content.
func isInline(v string) bool {
	return strings.Contains(v, "\n") || strings.HasPrefix(strings.TrimSpace(v), "{")
}

// within reports whether p is root or under it.
func within(root, p string) bool {
	return root == "/" || p == root || strings.HasPrefix(p, root+"/")
}

// isData reports whether p, a real path (symlinks resolved), was named only as generator data
// by the kustomizations CheckKustomizations walked, under whatever names.
func (fs *FS) isData(p string) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.data[p]
}

func (fs *FS) setWalking(on bool) {
	fs.mu.Lock()
	fs.walking = on
	fs.mu.Unlock()
}

// kustomizationFile returns the kustomization file in dir, or "".
func (fs *FS) kustomizationFile(dir string) string {
	for _, name := range kustomizationNames {
		if p := path.Join(dir, name); fs.isFile(p) {
			return p
		}
	}
	return ""
}

// isFile reports whether p is a file of the view, following symlinks inside the repository.
func (fs *FS) isFile(p string) bool {
	e, err := fs.resolve(p)
	return err == nil && e != nil
}
