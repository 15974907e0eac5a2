package render

import (
	"bytes"
	"path"
	"strings"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/resid"

	"github.com/flotilla-dev/flotilla/sources/tree"
)

// Patch is a patch of a kustomization, as it applies to one object.
type Patch struct {
	// File is the repository path of the patch file, or of the kustomization that holds the
	// patch inline.
	File string
	// docs are the patch's documents that apply to the object: strategic-merge patches
	// (mappings) or JSON 6902 operation lists (sequences).
	docs []*yaml.Node
}

// sets reports whether the patch sets the field at a structured-merge-diff path, or something
// under it; object is the rendered object.
func (p Patch) sets(field string, object any) bool {
	for _, doc := range p.docs {
		if doc.Kind == yaml.SequenceNode && operationsSet(doc, field, object) ||
			doc.Kind == yaml.MappingNode && mergeSets(doc, field) {
			return true
		}
	}
	return false
}

// patchSource is one patch as a kustomization lists it.
type patchSource struct {
	file string
	// target selects the objects; nil for a strategic-merge patch whose documents name them.
	target *types.SelectorRegex
	// name is the target's name pattern.
	name string
	docs []*yaml.Node
}

// patchScope is one kustomization's patches (its components' first) with the files of the
// objects they may apply to: the resources under the kustomization, and the kustomizations,
// which name the objects they generate.
type patchScope struct {
	files   map[string]bool
	patches []patchSource
}

// patchScopes are a render's kustomizations, bases before the kustomizations that include
// them, as kustomize applies their patches.
type patchScopes []*patchScope

// of returns the patches that apply to the object declared in file, named org there ("" if not
// known), whose ID is cur in the render.
func (s patchScopes) of(file, org string, cur resid.ResId) []Patch {
	var out []Patch
	for _, scope := range s {
		if !scope.files[file] {
			continue
		}
		for _, src := range scope.patches {
			if docs := src.docsFor(org, cur); len(docs) > 0 {
				out = append(out, Patch{File: src.file, docs: docs})
			}
		}
	}
	return out
}

// docsFor returns the documents of the patch that apply to the object. Names are compared with
// the object's name in its file and in the render, or one between them (a base's name prefix
// added before the patch, an overlay's after it); namespaces and label selectors are not
// compared: this names files in error messages, it does not patch.
func (src patchSource) docsFor(org string, cur resid.ResId) []*yaml.Node {
	if src.target != nil {
		if src.target.MatchGvk(cur.Gvk) && (src.target.MatchName(org) || src.target.MatchName(cur.Name) || between(src.name, org, cur.Name)) {
			return src.docs
		}
		return nil
	}
	var docs []*yaml.Node
	for _, doc := range src.docs {
		if doc.Kind != yaml.MappingNode {
			continue
		}
		kind := scalarField(doc, "kind")
		name := scalarField(field(doc, "metadata"), "name")
		if kind == cur.Kind && (name == org || name == cur.Name || between(name, org, cur.Name)) {
			docs = append(docs, doc)
		}
	}
	return docs
}

// between reports whether name is the object's name with some of the prefixes and suffixes it
// has in the render (any part of the name in the render, if its name in its file is not known).
func between(name, org, cur string) bool {
	return name != "" && strings.Contains(cur, name) && strings.Contains(name, org)
}

// declaredNames finds the names objects have in their files: kustomize keeps only the name an
// object has at the end of the render.
type declaredNames struct {
	view  *tree.FS
	files map[string][]*yaml.Node // documents by repository path
}

// name returns the name the object cur has in file: the longest name of an object of its kind
// there that is part of its name in the render; "" if there is none (a generated object).
func (d declaredNames) name(file string, cur resid.ResId) string {
	docs, ok := d.files[file]
	if !ok {
		if data, err := d.view.ReadFile("/" + file); err == nil {
			docs = documents(data)
		}
		d.files[file] = docs
	}
	org := ""
	for _, doc := range docs {
		name := scalarField(field(doc, "metadata"), "name")
		if scalarField(doc, "kind") == cur.Kind && len(name) > len(org) && strings.Contains(cur.Name, name) {
			org = name
		}
	}
	return org
}

// maxPatchDepth bounds the nesting of kustomizations read for patches.
const maxPatchDepth = 64

// readPatches reads the patches of the kustomization in dir (a repository path) and of those
// it includes. What cannot be read is left out: kustomize has read it all already.
func readPatches(view *tree.FS, dir string) patchScopes {
	r := &patchReader{view: view, seen: map[string]*patchScope{}}
	r.kustomization(dir, 0)
	return r.scopes
}

type patchReader struct {
	view   *tree.FS
	seen   map[string]*patchScope
	scopes patchScopes
}

// kustomization reads the kustomization in dir and what it includes, and returns its scope.
func (r *patchReader) kustomization(dir string, depth int) *patchScope {
	if s, ok := r.seen[dir]; ok {
		return s
	}
	s := &patchScope{files: map[string]bool{}}
	r.seen[dir] = s
	r.include(s, dir, depth)
	r.scopes = append(r.scopes, s)
	return s
}

// include adds the kustomization in dir to s: its files, its components' patches, its own.
func (r *patchReader) include(s *patchScope, dir string, depth int) {
	file, k := r.read(dir)
	if k == nil || depth > maxPatchDepth {
		return
	}
	s.files[file] = true
	for _, res := range k.Resources {
		p := path.Join(dir, res)
		if !r.view.IsDir("/" + p) {
			s.files[p] = true
			continue
		}
		for f := range r.kustomization(p, depth+1).files {
			s.files[f] = true
		}
	}
	for _, c := range k.Components {
		r.include(s, path.Join(dir, c), depth+1) // its patches apply to what s holds
	}
	//lint:ignore SA1019 kustomize still applies the patches of the deprecated fields
	for _, p := range k.PatchesStrategicMerge {
		name := path.Join(dir, string(p))
		if data, err := r.view.ReadFile("/" + name); err == nil {
			s.add(name, nil, data)
		} else {
			s.add(file, nil, []byte(p))
		}
	}
	//lint:ignore SA1019 kustomize still applies the patches of the deprecated fields
	for _, patches := range [][]types.Patch{k.Patches, k.PatchesJson6902} {
		for _, p := range patches {
			name, data := file, []byte(p.Patch)
			if p.Path != "" {
				name = path.Join(dir, p.Path)
				var err error
				if data, err = r.view.ReadFile("/" + name); err != nil {
					continue
				}
			}
			s.add(name, p.Target, data)
		}
	}
}

// read returns the repository path and content of the kustomization in dir, or nil.
func (r *patchReader) read(dir string) (string, *types.Kustomization) {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		file := path.Join(dir, name)
		data, err := r.view.ReadFile("/" + file)
		if err != nil {
			continue
		}
		var k types.Kustomization
		if k.Unmarshal(data) != nil {
			return file, nil
		}
		k.FixKustomization()
		return file, &k
	}
	return "", nil
}

// add records a patch of file, with its target, if its content parses.
func (s *patchScope) add(file string, target *types.Selector, data []byte) {
	src := patchSource{file: file}
	if target != nil {
		sel, err := types.NewSelectorRegex(target)
		if err != nil {
			return
		}
		src.target, src.name = sel, target.Name
	}
	src.docs = documents(data)
	s.patches = append(s.patches, src)
}

// documents parses YAML documents, up to the first that does not parse.
func documents(data []byte) []*yaml.Node {
	var docs []*yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			return docs
		}
		if len(doc.Content) == 1 {
			docs = append(docs, doc.Content[0])
		}
	}
}
