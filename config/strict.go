package config

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// scalarValidator is implemented by types written as one YAML scalar with their own syntax
// (Duration), so that a bad value is reported with its line.
type scalarValidator interface {
	validateScalar(string) error
}

var (
	scalarValidatorType = reflect.TypeFor[scalarValidator]()
	secretRefType       = reflect.TypeFor[SecretRef]()
)

// fieldProblem is a problem found in a document, before it knows its object's name.
type fieldProblem struct {
	line  int
	field string
	msg   string
}

// credentialHints explain unknown fields that look like inline credentials.
var credentialHints = map[string]string{
	"password":   "credentials are never inline: use password: {file: …} or {env: …}",
	"token":      "credentials are never inline: use token: {file: …} or {env: …}",
	"privateKey": "credentials are never inline: use privateKey: {file: …} or {env: …}",
	"passphrase": "credentials are never inline: use passphrase: {file: …} or {env: …}",
}

// maxNodeVisits bounds the strict check of one document, so that aliases that expand
// exponentially (a "billion laughs" document) cost a bounded amount of work.
const maxNodeVisits = 200_000

// checker walks a YAML node against the Go type it will be decoded into and reports unknown
// fields and values of the wrong kind, each with its line and dotted field path. It also
// remembers the line of every field, for later checks to cite.
type checker struct {
	problems []fieldProblem
	omitted  int // problems past maxProblems
	lines    map[string]int
	visits   int
}

func newChecker() *checker { return &checker{lines: map[string]int{}} }

// report records a problem, or only counts it once maxProblems are recorded.
func (c *checker) report(line int, field, msg string) {
	if len(c.problems) >= maxProblems {
		c.omitted++
		return
	}
	c.problems = append(c.problems, fieldProblem{line: line, field: field, msg: msg})
}

func (c *checker) check(node *yaml.Node, t reflect.Type, path string) {
	report := func(line int, msg string) { c.report(line, path, msg) }
	c.visits++
	if c.visits == maxNodeVisits {
		report(node.Line, fmt.Sprintf("document too large or too deeply aliased (more than %d nodes)", maxNodeVisits))
	}
	if c.visits >= maxNodeVisits {
		return
	}
	if node.Kind == yaml.AliasNode {
		node = node.Alias
	}
	if _, seen := c.lines[path]; !seen {
		c.lines[path] = node.Line
	}
	if node.Kind == yaml.ScalarNode && node.Tag == "!!null" {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(scalarValidatorType) || reflect.PointerTo(t).Implements(scalarValidatorType) {
		if node.Kind != yaml.ScalarNode {
			report(node.Line, "expected a single value")
			return
		}
		if err := reflect.New(t).Interface().(scalarValidator).validateScalar(node.Value); err != nil {
			report(node.Line, err.Error())
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		c.checkStruct(node, t, path)
	case reflect.Map:
		c.checkMap(node, t, path)
	case reflect.Slice:
		if node.Kind != yaml.SequenceNode {
			report(node.Line, "expected a list, got "+describe(node))
			return
		}
		for i, item := range node.Content {
			c.check(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.String:
		if node.Kind != yaml.ScalarNode || node.Tag != "!!str" {
			report(node.Line, "expected a string, got "+describe(node)+"; quote it if it is meant as text")
		}
	case reflect.Bool:
		if node.Kind != yaml.ScalarNode || node.Tag != "!!bool" {
			report(node.Line, "expected true or false, got "+describe(node))
		}
	case reflect.Int, reflect.Int32, reflect.Int64:
		if node.Kind != yaml.ScalarNode || node.Tag != "!!int" {
			report(node.Line, "expected a whole number, got "+describe(node))
		}
	}
}

// checkStruct checks a mapping against the fields of struct type t.
func (c *checker) checkStruct(node *yaml.Node, t reflect.Type, path string) {
	if t == secretRefType && node.Kind != yaml.MappingNode {
		c.report(node.Line, path, "credentials are never inline (the value is not shown): use {file: PATH} or {env: VARIABLE}")
		return
	}
	if node.Kind != yaml.MappingNode {
		c.report(node.Line, path, "expected a mapping of fields, got "+describe(node))
		return
	}
	c.checkDuplicateKeys(node, path)
	for i := 0; i+1 < len(node.Content); i += 2 {
		key, value := node.Content[i], node.Content[i+1]
		if !c.checkKey(key, path) {
			continue
		}
		field, ok := fieldByJSONName(t, key.Value)
		sub := joinPath(path, key.Value)
		if !ok {
			msg := "unknown field"
			if hint, found := credentialHints[key.Value]; found {
				msg += "; " + hint
			}
			c.report(key.Line, sub, msg)
			continue
		}
		c.check(value, field.Type, sub)
	}
}

// checkMap checks a mapping of text keys to values of t's element type.
func (c *checker) checkMap(node *yaml.Node, t reflect.Type, path string) {
	if node.Kind != yaml.MappingNode {
		c.report(node.Line, path, "expected a mapping, got "+describe(node))
		return
	}
	c.checkDuplicateKeys(node, path)
	for i := 0; i+1 < len(node.Content); i += 2 {
		key := node.Content[i]
		if !c.checkKey(key, path) {
			continue
		}
		if key.Tag != "!!str" {
			c.report(key.Line, joinPath(path, key.Value), "expected a text key, got "+describe(key)+"; quote it")
			continue
		}
		c.check(node.Content[i+1], t.Elem(), joinPath(path, key.Value))
	}
}

// checkKey reports a key that is not plain text: an alias, a list or a mapping. Nothing decodes
// such a key then, so that an alias bomb hidden in a key is never expanded.
func (c *checker) checkKey(key *yaml.Node, path string) bool {
	if key.Kind == yaml.ScalarNode {
		return true
	}
	what := describe(key)
	if key.Kind == yaml.AliasNode {
		what = "an alias"
	}
	c.report(key.Line, path, "a key must be plain text, not "+what)
	return false
}

// checkDuplicateKeys reports a key written twice in one mapping: YAML parsers disagree on
// which value wins, so it is refused.
func (c *checker) checkDuplicateKeys(node *yaml.Node, path string) {
	first := map[string]int{}
	for i := 0; i+1 < len(node.Content); i += 2 {
		key := node.Content[i]
		if key.Kind != yaml.ScalarNode {
			continue // checkKey reports it
		}
		if line, dup := first[key.Value]; dup {
			c.report(key.Line, joinPath(path, key.Value), fmt.Sprintf("written twice; first at line %d", line))
			continue
		}
		first[key.Value] = key.Line
	}
}

// fieldByJSONName finds the struct field with that JSON name, looking into inline fields.
func fieldByJSONName(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		tagName, opts, _ := strings.Cut(tag, ",")
		if tagName == "-" {
			continue
		}
		if f.Anonymous && strings.Contains(opts, "inline") {
			if inner, ok := fieldByJSONName(f.Type, name); ok {
				return inner, true
			}
			continue
		}
		if tagName == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func describe(node *yaml.Node) string {
	switch node.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%s %q", strings.TrimPrefix(node.Tag, "!!"), shorten(node.Value, 40))
	}
}
