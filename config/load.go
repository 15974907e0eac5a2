package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// maxProblems bounds the problems an Error lists; the ones found after are only counted.
const maxProblems = 100

// maxEcho and maxMessage bound the text of a Problem: a field path or object name, a message.
// A key or value of megabytes is shortened rather than repeated.
const (
	maxEcho    = 200
	maxMessage = 1000
)

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

// Error lists the problems found in a configuration: every one, up to 100.
type Error struct {
	Problems []Problem
	// Omitted counts the problems found after the first 100, which are not listed.
	Omitted int
}

func (e *Error) Error() string {
	if len(e.Problems) == 1 && e.Omitted == 0 {
		return "invalid configuration: " + e.Problems[0].String()
	}
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = "  " + p.String()
	}
	msg := fmt.Sprintf("invalid configuration, %d problems:\n%s", len(e.Problems)+e.Omitted, strings.Join(lines, "\n"))
	if e.Omitted > 0 {
		msg += fmt.Sprintf("\n  … and %d more", e.Omitted)
	}
	return msg
}

// Load reads the configuration in path: one YAML file, or every *.yaml and *.yml file directly in
// a folder, in name order. Relative file paths in the configuration (kubeconfigs, keys, secret
// files) are relative to the file that names them. It returns *Error when the configuration is
// invalid. A path that is neither a regular file nor a folder, such as a named pipe, is refused
// without being opened, and so is a .yaml or .yml entry of the folder that is not a regular file.
func Load(path string) (*Config, error) {
	files, err := configFiles(path)
	if err != nil {
		return nil, err
	}
	l := newLoader()
	contents := make([][]byte, len(files))
	total := 0
	for i, file := range files {
		data, err := readConfigFile(file)
		if err != nil {
			l.add(Problem{File: file, Message: err.Error()})
			continue
		}
		if total += len(data); total > MaxFolderSize {
			l.add(Problem{File: path, Message: fmt.Sprintf("the .yaml and .yml files of the folder hold more than the %d MiB limit for a configuration", MaxFolderSize>>20)})
			return l.finish() // before parsing anything
		}
		contents[i] = data
	}
	for i, file := range files {
		if contents[i] != nil {
			l.loadFile(file, contents[i])
		}
	}
	return l.finish()
}

// LoadBytes reads a configuration held in memory as if it were the file name.
func LoadBytes(name string, data []byte) (*Config, error) {
	l := newLoader()
	if len(data) > MaxFileSize {
		l.add(Problem{File: name, Message: errFileTooLarge.Error()})
	} else {
		l.loadFile(name, data)
	}
	return l.finish()
}

// loader accumulates documents and problems across files.
type loader struct {
	cfg      Config
	problems []Problem
	omitted  int // problems past maxProblems
}

func newLoader() *loader { return &loader{} }

// add records a problem, shortened, or only counts it once maxProblems are recorded.
func (l *loader) add(p Problem) {
	if len(l.problems) >= maxProblems {
		l.omitted++
		return
	}
	p.Object, p.Field, p.Message = shorten(p.Object, maxEcho), shorten(p.Field, maxEcho), shorten(p.Message, maxMessage)
	l.problems = append(l.problems, p)
}

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
		return nil, &Error{Problems: l.problems, Omitted: l.omitted}
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
		l.add(Problem{File: file, Line: root.Line, Object: object, Field: "apiVersion", Message: fmt.Sprintf("%q is not %s", brief(apiVersion), APIVersion)})
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
		l.add(Problem{File: file, Line: root.Line, Object: object, Field: "kind", Message: fmt.Sprintf("unknown kind %q; expected Source, Cluster or App", brief(kind))})
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
	l.omitted += c.omitted
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

// shorten cuts s to at most n bytes, on a character boundary, marking the cut with "…".
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// brief shortens a value that a message quotes.
func brief(s string) string { return shorten(s, 64) }
