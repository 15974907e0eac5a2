package tree

import (
	"strings"
	"unicode"
)

// What kustomize does with a string in a kustomization, by the field that holds it. Flotilla
// does not trust a list of the fields that load files: a kustomize upgrade can add one. Instead
// it lists the fields that are plain values (labels, names, literals, inline patches, selectors:
// kustomize never loads anything named there) and checks every other string, wherever it is,
// as a possible file or base reference. A field a future kustomize adds is checked until it is
// listed here: the failure mode is a refusal with a clear message, never a fetch.

// role is what a field's strings are to kustomize.
type role int

const (
	// roleChecked: may name a file; refused if remote or absolute.
	roleChecked role = iota
	// roleValue: a plain value (or inline content); never loaded.
	roleValue
	// roleBase: resources, components and bases: a file, a folder holding a kustomization, or
	// a remote Git repository.
	roleBase
	// rolePlugin: generators, transformers and validators: inline plugin configuration, or a
	// file or folder holding it.
	rolePlugin
	// roleKeyedFile: generator files, written [key=]path.
	roleKeyedFile
	// roleEnvFile: generator env files, read as KEY=value lines.
	roleEnvFile
	// roleInline: YAML or JSON content that kustomize parses (an inline patch): held to the
	// same limits as a file.
	roleInline
)

// kustomizationFields classifies a field of a kustomization by its pattern: keys joined by
// dots, "[]" for a list item, "*" for any key of a free-form map. The longest matching pattern
// wins; patterns match a field and everything under it.
var kustomizationFields = map[string]role{
	"apiVersion": roleValue, "kind": roleValue, "metadata": roleValue,
	"namePrefix": roleValue, "nameSuffix": roleValue, "namespace": roleValue,
	"commonLabels": roleValue, "commonAnnotations": roleValue, "labels": roleValue,
	"images": roleValue, "imageTags": roleValue, "replicas": roleValue,
	"generatorOptions": roleValue, "vars": roleValue, "sortOptions": roleValue,
	"buildMetadata": roleValue, "openapi.version": roleValue,

	"configMapGenerator[].name": roleValue, "configMapGenerator[].namespace": roleValue,
	"configMapGenerator[].behavior": roleValue, "configMapGenerator[].literals": roleValue,
	"configMapGenerator[].options": roleValue,
	"configMapGenerator[].files[]": roleKeyedFile,
	"configMapGenerator[].envs[]":  roleEnvFile, "configMapGenerator[].env": roleEnvFile,

	"secretGenerator[].name": roleValue, "secretGenerator[].namespace": roleValue,
	"secretGenerator[].behavior": roleValue, "secretGenerator[].literals": roleValue,
	"secretGenerator[].options": roleValue, "secretGenerator[].type": roleValue,
	"secretGenerator[].files[]": roleKeyedFile,
	"secretGenerator[].envs[]":  roleEnvFile, "secretGenerator[].env": roleEnvFile,

	"patches[].patch": roleInline, "patches[].target": roleValue, "patches[].options": roleValue,
	"patchesJson6902[].patch": roleInline, "patchesJson6902[].target": roleValue,
	"patchesJson6902[].options": roleValue,

	"replacements[].source": roleValue, "replacements[].targets": roleValue,
	"replacements[].sourceValue": roleValue,

	"resources[]": roleBase, "components[]": roleBase, "bases[]": roleBase,
	"generators[]": rolePlugin, "transformers[]": rolePlugin, "validators[]": rolePlugin,
}

// pluginValueKeys are the keys of a plugin configuration (a builtin generator or transformer
// object) whose subtrees are plain values, wherever they appear; everything else in the
// object is checked.
var pluginValueKeys = map[string]bool{
	"apiVersion": true, "kind": true, "metadata": true,
	"name": true, "namespace": true, "behavior": true, "type": true,
	"literals": true, "options": true, "labels": true, "annotations": true, "pairs": true,
	"target": true, "targets": true, "source": true, "sourceValue": true,
	"select": true, "reject": true, "fieldSpecs": true, "fieldPaths": true, "fieldPath": true,
	"images": true, "replicas": true, "prefix": true, "suffix": true,
}

// pluginFields classifies the fields of a plugin configuration that need more than a check.
var pluginFields = map[string]role{
	"files[]": roleKeyedFile, "envs[]": roleEnvFile, "env": roleEnvFile,
	"patch": roleInline, "patches": roleInline,
}

// Kustomize decodes kustomizations and plugin configurations with encoding/json, which matches
// keys case-insensitively (and with Unicode case folding: "ſ" is an "s"), so patterns are
// compared in folded form.
var (
	foldedKustomizationFields = foldTable(kustomizationFields)
	foldedPluginFields        = foldTable(pluginFields)
	foldedPluginValueKeys     = map[string]bool{}
)

func init() {
	for k := range pluginValueKeys {
		foldedPluginValueKeys[fold(k)] = true
	}
}

func foldTable(table map[string]role) map[string]role {
	folded := make(map[string]role, len(table))
	for k, r := range table {
		folded[fold(k)] = r
	}
	return folded
}

// fold maps every rune to the smallest rune of its Unicode case-folding orbit, so that two
// strings fold alike exactly when strings.EqualFold says they are equal.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		smallest := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < smallest {
				smallest = f
			}
		}
		return smallest
	}, s)
}

// classify returns the role of the field at a folded pattern (see kustomizationFields).
func classify(table map[string]role, pattern string) role {
	for p := pattern; ; {
		if r, ok := table[p]; ok {
			return r
		}
		cut := strings.LastIndexAny(p, ".[")
		if cut <= 0 {
			return roleChecked
		}
		p = p[:cut]
	}
}

// classifyKustomization returns the role of a field of a kustomization.
func classifyKustomization(pattern string, _ []string) role {
	return classify(foldedKustomizationFields, pattern)
}

// classifyPlugin returns the role of a field of a plugin configuration.
func classifyPlugin(pattern string, foldedKeys []string) role {
	for _, k := range foldedKeys {
		if foldedPluginValueKeys[k] {
			return roleValue
		}
	}
	return classify(foldedPluginFields, pattern)
}
