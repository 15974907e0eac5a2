package tree

// Generator, transformer and validator configuration, as CheckKustomizations checks it: the
// configuration kustomize will hand to its builtin plugins, decoded as kustomize decodes it.

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"unicode"
)

// pluginFile checks a file of plugin configurations named by the kustomization in dir: paths
// in plugin configuration are relative to that kustomization's folder.
func (w *walker) pluginFile(file, dir, root string) error {
	if real, err := w.fs.realPath(file); err == nil {
		file = real // where WithFetched rewrites it
	}
	data, err := w.fs.ReadFile(file)
	if err != nil {
		return err
	}
	return w.pluginDocuments(&document{path: file}, dir, root, "", data)
}

// pluginFolder checks a kustomization whose output is plugin configuration for the
// kustomization in naming: the files and folders among its resources hold plugin
// configuration.
func (w *walker) pluginFolder(dir, naming string) (int, error) {
	loads, err := w.kustomization(dir)
	if err != nil || w.pluginDirs[dir] {
		return loads, err
	}
	w.pluginDirs[dir] = true
	file := w.fs.kustomizationFile(dir)
	if file == "" {
		return loads, nil
	}
	data, err := w.fs.ReadFile(file)
	if err != nil {
		return 0, err
	}
	k, err := decodeLikeKustomize(data)
	if err != nil {
		return loads, nil // reported by kustomization
	}
	if err := pluginFolderFields(file, k); err != nil {
		return 0, err
	}
	root := w.fs.confinement(naming)
	err = walkValue(k, "", "", nil, classifyKustomization, func(field string, r role, v string, _ func(string)) error {
		target := path.Join(dir, v)
		if real, err := w.fs.realPath(target); err == nil {
			target = real
		}
		switch {
		case r != roleBase || isRemote(v) || path.IsAbs(v) || !within(w.fs.confinement(dir), target):
			return nil // checked by kustomization
		case w.fs.IsDir(target):
			_, err := w.pluginFolder(target, naming)
			return err
		case w.fs.isFile(target):
			return w.pluginFile(target, naming, root)
		}
		return nil
	})
	return loads, err
}

// pluginFolderKeys are the fields a kustomization of plugin configuration may have: the
// configuration it lists is checked as written, so nothing may change it afterwards (a patch
// could add a URL to it).
var pluginFolderKeys = map[string]bool{}

func init() {
	for _, k := range []string{"apiVersion", "kind", "metadata", "resources", "namespace", "buildMetadata"} {
		pluginFolderKeys[fold(k)] = true
	}
}

// pluginFolderFields refuses a kustomization of plugin configuration that could change the
// configuration it lists.
func pluginFolderFields(file string, k any) error {
	m, _ := k.(map[string]any)
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !pluginFolderKeys[fold(name)] {
			return fmt.Errorf("%s: %s: a folder of generator, transformer or validator configuration may only list resources (and set a namespace): %s could change the configuration after it is checked", display(file), quotePath(name), quotePath(name))
		}
	}
	return nil
}

// pluginDocuments checks every document of a plugin configuration. Fields are named with
// prefix.
func (w *walker) pluginDocuments(doc *document, dir, root, prefix string, data []byte) error {
	resources, err := w.plugins.NewResMapFromBytes(data)
	if err != nil {
		return fmt.Errorf("%s: %snot generator or transformer configuration: %w", display(doc.path), prefix, err)
	}
	for i, res := range resources.Resources() {
		raw, err := res.AsYAML()
		if err != nil {
			return fmt.Errorf("%s: %s%w", display(doc.path), prefix, err)
		}
		obj, err := decodeLikeKustomize(raw)
		if err != nil {
			return fmt.Errorf("%s: %s%w", display(doc.path), prefix, err)
		}
		doc.docs = append(doc.docs, obj)
		docPrefix := prefix
		if i > 0 || prefix == "" {
			docPrefix = fmt.Sprintf("%sobject %d (%s/%s): ", prefix, i+1, quoteName(res.GetKind()), quoteName(res.GetName()))
		}
		kind := res.GetKind()
		err = walkValue(obj, "", "", nil, classifyPlugin, func(field string, r role, v string, set func(string)) error {
			if r == roleInline {
				return w.fs.checkInline(doc.path, docPrefix+field, v)
			}
			target, err := w.check(doc, dir, root, docPrefix+field, r, v, set)
			if err == nil && target != "" && r == roleEnvFile && kind == "SecretGenerator" {
				err = w.secretEnvFile(target)
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// isInlinePlugin reports whether a generator, transformer or validator entry is configuration
// written inline, exactly as kustomize decides it: the entry parses as objects. The entry is
// held to the YAML limits first, since it is parsed.
func (w *walker) isInlinePlugin(file, field, v string) bool {
	if isRemote(v) || !strings.ContainsAny(v, ":{[\n") {
		return false // a URL or a plain path, which cannot parse as an object
	}
	if w.fs.checkInline(file, field, v) != nil {
		return true // refused as content, so that the refusal is reported
	}
	_, err := w.plugins.NewResMapFromBytes([]byte(v))
	return err == nil
}

// secretEnvFile refuses a secretGenerator env file with a line that has no "=": kustomize
// makes the whole line a key, and keys are printed in clear, so a value pasted on its own line
// would be shown. The line itself is never echoed.
func (w *walker) secretEnvFile(file string) error {
	if !w.fs.isFile(file) {
		return nil // kustomize reports a missing file
	}
	data, err := w.fs.ReadFile(file)
	if err != nil {
		return err
	}
	for i, line := range strings.Split(string(data), "\n") {
		if i == 0 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		line = strings.TrimLeftFunc(line, unicode.IsSpace)
		if line == "" || strings.HasPrefix(line, "#") || strings.Contains(line, "=") {
			continue
		}
		return fmt.Errorf("%s:%d: secretGenerator env file line has no \"=\"; refused, because kustomize would make the whole line a key and print it in clear (write KEY=value)", display(file), i+1)
	}
	return nil
}
