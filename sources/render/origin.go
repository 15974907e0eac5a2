package render

import (
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"

	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

// originFS shows kustomize the root kustomization of a render with origin tracking turned on,
// so that every object carries the file it came from and errors can name it. Everything else,
// and the repository itself, is left as it is.
type originFS struct {
	*tree.FS
	// root is the folder of the kustomization being rendered, in the view.
	root string
}

// ReadFile reads the file, with originAnnotations added to the root kustomization's
// buildMetadata.
func (o *originFS) ReadFile(name string) ([]byte, error) {
	data, err := o.FS.ReadFile(name)
	if err != nil || path.Clean(path.Dir(name)) != o.root || !slices.Contains(konfig.RecognizedKustomizationFileNames(), path.Base(name)) {
		return data, err
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return data, nil // kustomize reports what is wrong with it
	}
	top := doc.Content[0]
	var metadata *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "buildMetadata" {
			metadata = top.Content[i+1]
		}
	}
	switch {
	case metadata == nil:
		metadata = &yaml.Node{Kind: yaml.SequenceNode}
		top.Content = append(top.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "buildMetadata"}, metadata)
	case metadata.Kind != yaml.SequenceNode:
		return data, nil
	}
	for _, item := range metadata.Content {
		if item.Value == types.OriginAnnotations {
			return data, nil
		}
	}
	metadata.Content = append(metadata.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: types.OriginAnnotations})
	tracked, err := yaml.Marshal(&doc)
	if err != nil {
		return data, nil
	}
	return tracked, nil
}

// Origin is where a rendered object came from, for error messages.
type Origin struct {
	// File is the repository path of the file that declared the object, or of the kustomization
	// that generated it.
	File string
	// Patches are the patches of the render's kustomizations that apply to the object, in the
	// order kustomize applies them.
	Patches []Patch
	// object is the rendered object, which tells the list items that JSON 6902 operations name
	// by index.
	object any
}

// FileOf names the file to blame for the field at a structured-merge-diff path, as schema
// errors print it (".spec.template.spec.containers[name=\"web\"].image"): the patches whose
// content sets the field or something under it, with the object's own file
// ("overlays/prod/patch.yaml (patch of base/app.yaml)"), or else the object's file (also for a
// patch inline in the kustomization that generated the object). A field that is "" names the
// object's file.
func (o Origin) FileOf(field string) string {
	if field == "" {
		return o.File
	}
	var files []string
	for _, p := range o.Patches {
		if p.File != o.File && p.sets(field, o.object) && !slices.Contains(files, p.File) {
			files = append(files, p.File)
		}
	}
	switch len(files) {
	case 0:
		return o.File
	case 1:
		return files[0] + " (patch of " + o.File + ")"
	}
	return strings.Join(files, ", ") + " (patches of " + o.File + ")"
}

// Files renders the kustomization in dir (relative to the repository root) once more, with
// kustomize's origin tracking, and returns the repository path of the file each object came
// from (for a generated object, the kustomization that generated it). See Origins.
func Files(view *tree.FS, dir string) map[object.ID]string {
	origins := Origins(view, dir)
	if origins == nil {
		return nil
	}
	files := make(map[object.ID]string, len(origins))
	for id, origin := range origins {
		files[id] = origin.File
	}
	return files
}

// Origins renders the kustomization in dir (relative to the repository root) once more, with
// kustomize's origin tracking, and returns where each object came from: its file, and the
// patches of the render's kustomizations that apply to it. Origin tracking is too slow to run
// on every render (kustomize then records every transformer on every object), and its
// annotations must not reach a cluster, so this is for error messages only: it returns what it
// found, nothing if the render fails or may fetch remote bases.
func Origins(view *tree.FS, dir string) map[object.ID]Origin {
	rel := strings.TrimPrefix(path.Clean("/"+dir), "/")
	resources := trackedRender(view, dir)
	if resources == nil {
		return nil
	}
	scopes := readPatches(view.Fresh(), rel)
	declared := declaredNames{view: view.Fresh(), files: map[string][]*yaml.Node{}}
	origins := make(map[object.ID]Origin, resources.Size())
	for _, res := range resources.Resources() {
		origin, err := res.GetOrigin()
		if err != nil || origin == nil || origin.Repo != "" {
			continue
		}
		file := origin.Path
		if file == "" {
			file = origin.ConfiguredIn
		}
		if file == "" {
			continue
		}
		id := res.CurId()
		o := Origin{File: path.Join(rel, file)}
		o.Patches = scopes.of(o.File, declared.name(o.File, id), id)
		if len(o.Patches) > 0 {
			o.object, _ = res.Map()
		}
		origins[object.ID{Group: id.Group, Kind: id.Kind, Namespace: id.Namespace, Name: id.Name}] = o
	}
	return origins
}

// trackedRender builds dir with origin tracking, or returns nil.
func trackedRender(view *tree.FS, dir string) resmap.ResMap {
	clean := path.Clean("/" + dir)
	if view.RemoteBasesAllowed() {
		return nil
	}
	if refs, err := view.CheckKustomizations(clean); err != nil || len(refs) > 0 {
		return nil
	}
	root, err := view.RealPath(clean)
	if err != nil {
		return nil
	}
	resources, err := newKustomizer().Run(&originFS{FS: view, root: root}, clean)
	if err != nil {
		return nil
	}
	return resources
}
