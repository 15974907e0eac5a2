package tree

import (
	"bytes"
	"errors"
	"io"
	"path"

	"go.yaml.in/yaml/v3"
)

// checkContent runs the checks that need a file's content: p is the file read, its real path
// (symlinks resolved), whatever path kustomize asked for.
func (fs *FS) checkContent(p string, data []byte) error {
	if isKustomizationName(path.Base(p)) {
		if err := fs.countKustomization(p); err != nil {
			return err
		}
	}
	if fs.isData(p) {
		return nil // generator data: kustomize does not parse it as YAML
	}
	// The shape first: it scans without parsing, so the alias check, which decodes the file,
	// only sees files held to the depth and node limits.
	if err := fs.checkShape(p, data); err != nil {
		return err
	}
	return fs.checkAliases(p, data)
}

// checkInline holds YAML written inside a kustomization or plugin configuration (an inline
// patch or configuration), which kustomize parses too, to the limits of a file.
func (fs *FS) checkInline(file, field, content string) error {
	where := display(file) + ": " + field
	if err := fs.checkShape(where, []byte(content)); err != nil {
		return err
	}
	return fs.checkAliases(where, []byte(content))
}

// checkShape scans data before any YAML parser sees it (shape.go), and charges its objects
// and nodes against the render's limits: a file nested too deep, a List of too many items or
// a flood of nodes is refused after reading only that far. Kustomization files are not
// counted as objects.
func (fs *FS) checkShape(p string, data []byte) error {
	kustomization := isKustomizationName(path.Base(p))
	fs.mu.Lock()
	nodes, objects := fs.nodes, fs.documents
	fs.mu.Unlock()
	limits := ShapeLimits{
		MaxDepth:   fs.limits.MaxDepth,
		MaxNodes:   max(fs.limits.MaxNodes-nodes, 1), // 0 would mean no limit
		MaxObjects: max(fs.limits.MaxDocuments-objects, 1),
	}
	if kustomization {
		limits.MaxObjects = 0
	}
	shape, err := scanShape(display(p), data, limits)
	var limit *LimitError
	if errors.As(err, &limit) {
		switch limit.Limit { // per file in scanShape, for the whole render here
		case limitShapeNodes:
			limit.Limit, limit.Value, limit.Max = limitRenderNodes, int64(nodes)+limit.Value, int64(fs.limits.MaxNodes)
		case limitShapeObjects:
			limit.Limit, limit.Value, limit.Max = limitRenderObjects, int64(objects)+limit.Value, int64(fs.limits.MaxDocuments)
		}
	}
	if err != nil {
		return err
	}
	if kustomization {
		shape.Objects = 0
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.nodes += shape.Nodes
	fs.documents += shape.Objects
	switch {
	case fs.nodes > fs.limits.MaxNodes:
		return &LimitError{Path: display(p), Limit: limitRenderNodes, Value: int64(fs.nodes), Max: int64(fs.limits.MaxNodes)}
	case fs.documents > fs.limits.MaxDocuments:
		return &LimitError{Path: display(p), Limit: limitRenderObjects, Value: int64(fs.documents), Max: int64(fs.limits.MaxDocuments)}
	}
	return nil
}

// The render-wide limits checkShape reports.
const (
	limitRenderNodes   = "YAML nodes read by one render"
	limitRenderObjects = "objects read by one render (documents and List items)"
)

// checkAliases refuses YAML whose aliases expand to more than MaxAliasNodes nodes: a "billion
// laughs" document is a few hundred bytes that expand to gigabytes. It decodes the file, so it
// runs only on files that checkShape passed (nested and sized within the limits).
func (fs *FS) checkAliases(p string, data []byte) error {
	if !bytes.Contains(data, []byte("&")) || !bytes.Contains(data, []byte("*")) {
		return nil // no anchor or no alias: nothing can expand
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	sizes := map[*yaml.Node]int{}
	expanded := 0
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return nil // not YAML this check understands; kustomize reports its own error
		}
		expanded += aliasExpansion(&doc, sizes)
		if expanded > fs.limits.MaxAliasNodes {
			return &LimitError{Path: display(p), Limit: "nodes produced by YAML aliases", Value: int64(expanded), Max: int64(fs.limits.MaxAliasNodes)}
		}
	}
}

// aliasExpansion is how many nodes the aliases under n stand for.
func aliasExpansion(n *yaml.Node, sizes map[*yaml.Node]int) int {
	total := 0
	for _, c := range n.Content {
		if c.Kind == yaml.AliasNode && c.Alias != nil {
			total += treeSize(c.Alias, sizes, 0)
			continue
		}
		total += aliasExpansion(c, sizes)
	}
	return total
}

// treeSize is the number of nodes n stands for with aliases expanded, memoised so that shared
// subtrees cost once to compute. A cycle counts as huge.
func treeSize(n *yaml.Node, sizes map[*yaml.Node]int, depth int) int {
	if s, ok := sizes[n]; ok {
		return s
	}
	if depth > 100 {
		return 1 << 30
	}
	sizes[n] = 1 << 30 // in progress: a cycle through n is infinite
	size := 1
	for _, c := range n.Content {
		target := c
		if c.Kind == yaml.AliasNode && c.Alias != nil {
			target = c.Alias
		}
		size += treeSize(target, sizes, depth+1)
		if size > 1<<30 {
			size = 1 << 30
		}
	}
	sizes[n] = size
	return size
}

// countKustomization charges one kustomization load against MaxKustomizations: kustomize loads
// a folder's kustomization each time the folder is named, so a few folders that name each
// other's children many levels deep are loaded exponentially often. CheckKustomizations refuses such a render
// before kustomize runs; this bounds what kustomize actually loads.
func (fs *FS) countKustomization(p string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.walking {
		return nil
	}
	fs.kustomizations++
	if max := fs.limits.MaxKustomizations; max > 0 && fs.kustomizations > max {
		return &LimitError{Path: display(p), Limit: "kustomizations loaded by one render", Value: int64(fs.kustomizations), Max: int64(max)}
	}
	return nil
}
