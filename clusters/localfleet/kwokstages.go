package localfleet

import (
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// kustomizationResources returns the documents of a kustomization that consists only of
// `resources:` (files and nested kustomizations), as kwok's stage kustomizations do. It exists so
// the build needs neither kubectl nor the kustomize API to read kwok's stages.
func kustomizationResources(dir string, depth int) ([][]byte, error) {
	if depth > 5 {
		return nil, fmt.Errorf("%s: kustomizations nested more than 5 deep", dir)
	}
	path := filepath.Join(dir, "kustomization.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read kustomization: %w", err)
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var docs [][]byte
	for _, r := range k.Resources {
		full := filepath.Join(dir, r)
		info, err := os.Stat(full)
		if err != nil {
			return nil, fmt.Errorf("%s: resource %s: %w", path, r, err)
		}
		if info.IsDir() {
			nested, err := kustomizationResources(full, depth+1)
			if err != nil {
				return nil, err
			}
			docs = append(docs, nested...)
			continue
		}
		doc, err := os.ReadFile(full)
		if err != nil {
			return nil, fmt.Errorf("%s: resource %s: %w", path, r, err)
		}
		docs = append(docs, doc)
	}
	return docs, nil
}
