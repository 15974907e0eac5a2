package render

import (
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/konfig"
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

// Files renders the kustomization in dir (relative to the repository root) once more, with
// kustomize's origin tracking, and returns the repository path of the file each object came
// from (for a generated object, the kustomization that generated it). Origin tracking is too
// slow to run on every render (kustomize then records every transformer on every object), so
// this is for error messages: it returns what it found, nothing if the render fails or may
// fetch remote bases.
func Files(view *tree.FS, dir string) map[object.ID]string {
	clean := path.Clean("/" + dir)
	rel := strings.TrimPrefix(clean, "/")
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
	files := make(map[object.ID]string, resources.Size())
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
		files[object.ID{Group: id.Group, Kind: id.Kind, Namespace: id.Namespace, Name: id.Name}] = path.Join(rel, file)
	}
	return files
}
