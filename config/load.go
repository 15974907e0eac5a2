package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds one configuration file.
const MaxFileSize = 4 << 20

// Problem is one thing wrong with a configuration.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Object  string `json:"object,omitempty"` // Kind/name
	Field   string `json:"field,omitempty"`  // dotted path, e.g. spec.ref.semver
	Message string `json:"message"`
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Object != "" {
		b.WriteString(p.Object + ": ")
	}
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error lists every problem found in a configuration.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "invalid configuration: " + e.Problems[0].String()
	}
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = "  " + p.String()
	}
	return fmt.Sprintf("invalid configuration, %d problems:\n%s", len(e.Problems), strings.Join(lines, "\n"))
}

// Load reads the configuration in path: one YAML file, or every *.yaml and *.yml file directly in
// a folder, in name order. Relative file paths in the configuration (kubeconfigs, keys, secret
// files) are relative to the file that names them. It returns *Error when the configuration is
// invalid.
func Load(path string) (*Config, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	files := []string{path}
	if info.IsDir() {
		if files, err = yamlFiles(path); err != nil {
			return nil, err
		}
	}
	l := newLoader()
	for _, file := range files {
		data, err := readLimited(file)
		if err != nil {
			l.add(Problem{File: file, Message: err.Error()})
			continue
		}
		l.loadFile(file, data)
	}
	return l.finish()
}

// LoadBytes reads a configuration held in memory as if it were the file name.
func LoadBytes(name string, data []byte) (*Config, error) {
	l := newLoader()
	if len(data) > MaxFileSize {
		l.add(Problem{File: name, Message: fmt.Sprintf("file is larger than the %d MiB limit for configuration files", MaxFileSize>>20)})
	} else {
		l.loadFile(name, data)
	}
	return l.finish()
}

func yamlFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read configuration folder: %w", err)
	}
	var files []string
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("configuration folder %s holds no .yaml or .yml file", dir)
	}
	sort.Strings(files)
	return files, nil
}

func readLimited(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("file is larger than the %d MiB limit for configuration files", MaxFileSize>>20)
	}
	return data, nil
}

// loader accumulates documents and problems across files.
type loader struct {
	cfg      Config
	problems []Problem
}

func newLoader() *loader { return &loader{} }

func (l *loader) add(p Problem) { l.problems = append(l.problems, p) }

func (l *loader) finish() (*Config, error) {
	l.validate()
	if len(l.problems) > 0 {
		sort.SliceStable(l.problems, func(i, j int) bool {
			a, b := l.problems[i], l.problems[j]
			if a.File != b.File {
				return a.File < b.File
			}
			return a.Line < b.Line
		})
		return nil, &Error{Problems: l.problems}
	}
	return &l.cfg, nil
}

func (l *loader) loadFile(file string, data []byte) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for doc := 1; ; doc++ {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			l.add(Problem{File: file, Line: yamlErrorLine(err), Message: "not valid YAML: " + yamlErrorText(err)})
			return // the decoder cannot resynchronise after a syntax error
		}
		if len(node.Content) == 0 {
			continue // an empty document, e.g. a trailing ---
		}
		l.loadDocument(file, doc, node.Content[0])
	}
}

func (l *loader) loadDocument(file string, doc int, root *yaml.Node) {
	origin := Origin{File: file, Line: root.Line, Document: doc}
	if root.Kind != yaml.MappingNode {
		l.add(Problem{File: file, Line: root.Line, Message: fmt.Sprintf("document %d is not a mapping with apiVersion, kind, metadata and spec", doc)})
		return
	}
	apiVersion, kind, name := scalarAt(root, "apiVersion"), scalarAt(root, "kind"), scalarAt(root, "metadata", "name")
	object := kind + "/" + name
	if name == "" {
		object = fmt.Sprintf("%s (document %d)", kind, doc)
	}
	if apiVersion != APIVersion {
		l.add(Problem{File: file, Line: root.Line, Object: object, Field: "apiVersion", Message: fmt.Sprintf("%q is not %s", apiVersion, APIVersion)})
		return
	}
	var target any
	switch kind {
	case KindSource:
		l.cfg.Sources = append(l.cfg.Sources, Source{Origin: origin})
		target = &l.cfg.Sources[len(l.cfg.Sources)-1]
	case KindCluster:
		l.cfg.Clusters = append(l.cfg.Clusters, Cluster{Origin: origin})
		target = &l.cfg.Clusters[len(l.cfg.Clusters)-1]
	case KindApp:
		l.cfg.Apps = append(l.cfg.Apps, App{Origin: origin})
		target = &l.cfg.Apps[len(l.cfg.Apps)-1]
	default:
		l.add(Problem{File: file, Line: root.Line, Object: object, Field: "kind", Message: fmt.Sprintf("unknown kind %q; expected Source, Cluster or App", kind)})
		return
	}
	if !l.decode(root, target, file, object) {
		l.dropLast(kind)
	}
}

// decode checks a document strictly and decodes it into target. It reports false if the
// document had problems.
func (l *loader) decode(root *yaml.Node, target any, file, object string) bool {
	c := newChecker()
	c.check(root, reflect.TypeOf(target).Elem(), "")
	for _, p := range c.problems {
		l.add(Problem{File: file, Line: p.line, Object: object, Field: p.field, Message: p.msg})
	}
	if len(c.problems) > 0 {
		return false
	}
	var generic any
	if err := root.Decode(&generic); err != nil {
		l.add(Problem{File: file, Line: root.Line, Object: object, Message: err.Error()})
		return false
	}
	b, err := json.Marshal(generic)
	if err == nil {
		err = json.Unmarshal(b, target)
	}
	if err != nil {
		l.add(Problem{File: file, Line: root.Line, Object: object, Message: err.Error()})
		return false
	}
	originOf(target).fields = c.lines
	return true
}

func (l *loader) dropLast(kind string) {
	switch kind {
	case KindSource:
		l.cfg.Sources = l.cfg.Sources[:len(l.cfg.Sources)-1]
	case KindCluster:
		l.cfg.Clusters = l.cfg.Clusters[:len(l.cfg.Clusters)-1]
	case KindApp:
		l.cfg.Apps = l.cfg.Apps[:len(l.cfg.Apps)-1]
	}
}

func originOf(target any) *Origin {
	switch o := target.(type) {
	case *Source:
		return &o.Origin
	case *Cluster:
		return &o.Origin
	case *App:
		return &o.Origin
	}
	return nil
}

// scalarAt returns the scalar value at a path of mapping keys, or "".
func scalarAt(node *yaml.Node, keys ...string) string {
	for _, key := range keys {
		if node.Kind != yaml.MappingNode {
			return ""
		}
		var next *yaml.Node
		for i := 0; i+1 < len(node.Content); i += 2 {
			if node.Content[i].Value == key {
				next = node.Content[i+1]
			}
		}
		if next == nil {
			return ""
		}
		node = next
	}
	if node.Kind != yaml.ScalarNode {
		return ""
	}
	return node.Value
}

// yamlErrorLine pulls the line number out of a yaml.v3 error ("yaml: line 7: …").
func yamlErrorLine(err error) int {
	var line int
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		fmt.Sscanf(msg[i+len("line "):], "%d", &line)
	}
	return line
}

// yamlErrorText is a yaml.v3 error without its "yaml: line N: " prefix, which Problem shows.
func yamlErrorText(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if strings.HasPrefix(msg, "line ") {
		if _, rest, ok := strings.Cut(msg, ": "); ok {
			return rest
		}
	}
	return msg
}
