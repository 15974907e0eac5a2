package tree

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"
)

// kustomizationNames are the file names kustomize reads as a kustomization.
var kustomizationNames = map[string]bool{"kustomization.yaml": true, "kustomization.yml": true, "Kustomization": true}

// checkContent runs the checks that need a file's content.
func (fs *FS) checkContent(p string, data []byte) error {
	if err := fs.checkAliases(p, data); err != nil {
		return err
	}
	if kustomizationNames[path.Base(p)] {
		return nil // checked by CheckKustomizations, where errors are not swallowed
	}
	return fs.countDocuments(p, data)
}

// countDocuments charges the YAML documents in data against MaxDocuments.
func (fs *FS) countDocuments(p string, data []byte) error {
	docs := 0
	if len(bytes.TrimSpace(data)) > 0 {
		docs = 1 + bytes.Count(data, []byte("\n---"))
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.documents += docs
	if fs.documents > fs.limits.MaxDocuments {
		return &LimitError{Path: display(p), Limit: "YAML documents read by one render", Value: int64(fs.documents), Max: int64(fs.limits.MaxDocuments)}
	}
	return nil
}

// checkAliases refuses YAML whose aliases expand to more than MaxAliasNodes nodes: a "billion
// laughs" document is a few hundred bytes that expand to gigabytes.
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

// remotePattern matches what kustomize would fetch instead of reading a local path.
var remotePattern = regexp.MustCompile(`^([a-z][a-z0-9+.-]*://|git@|github\.com/|gitlab\.com/|bitbucket\.org/)|\?ref=|\.git(//|$)`)

// CheckKustomizations walks the kustomization in dir and every kustomization it includes, before
// kustomize runs, and refuses references that kustomize would look for outside the repository:
// remote bases and URLs (unless allowed), paths that climb out, and names that do not exist.
// Kustomize itself treats an unreadable kustomization file as a missing one, so these errors
// would otherwise be lost.
func (fs *FS) CheckKustomizations(dir string) error {
	return fs.checkKustomizationDir(clean(dir), map[string]bool{})
}

func (fs *FS) checkKustomizationDir(dir string, visited map[string]bool) error {
	if visited[dir] {
		return nil // a cycle: kustomize reports it
	}
	visited[dir] = true
	file := ""
	for name := range kustomizationNames {
		if _, ok := fs.files[path.Join(dir, name)]; ok {
			file = path.Join(dir, name)
		}
	}
	if file == "" {
		return nil // not a kustomization: kustomize reports it where it matters
	}
	data, err := fs.ReadFile(file)
	if err != nil {
		return err
	}
	var k struct {
		Resources  []string `json:"resources"`
		Components []string `json:"components"`
		Bases      []string `json:"bases"`
	}
	if err := sigsyaml.Unmarshal(data, &k); err != nil {
		return fmt.Errorf("%s: not a valid kustomization: %w", display(file), err)
	}
	for _, list := range []struct {
		field   string
		entries []string
	}{{"resources", k.Resources}, {"components", k.Components}, {"bases", k.Bases}} {
		for _, entry := range list.entries {
			if err := fs.checkReference(dir, entry); err != nil {
				return fmt.Errorf("%s: %s: %w", display(file), list.field, err)
			}
			if target := path.Join(dir, entry); !remotePattern.MatchString(entry) && fs.FileSystem.IsDir(target) {
				if err := fs.checkKustomizationDir(target, visited); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (fs *FS) checkReference(dir, entry string) error {
	local := !strings.Contains(entry, "://") && !path.IsAbs(entry)
	if local && escapes(dir, entry) {
		return fmt.Errorf("%q leaves the repository", entry)
	}
	if local {
		target := path.Join(dir, entry)
		if _, isFile := fs.files[target]; isFile || fs.FileSystem.IsDir(target) {
			return nil // kustomize prefers a local path
		}
	}
	if fs.allowRemote {
		return nil
	}
	if remotePattern.MatchString(entry) {
		return fmt.Errorf("%q is a remote base or URL; the Source does not allow remote bases (spec.allowRemoteBases)", entry)
	}
	if path.IsAbs(entry) {
		return fmt.Errorf("%q leaves the repository", entry)
	}
	return fmt.Errorf("%q does not exist in the repository (kustomize would try to fetch it as a remote base)", strings.TrimSuffix(entry, "/"))
}
