package render

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Field paths are as structured-merge-diff prints them in schema errors: ".name" for a field,
// "[name=\"web\",port=80]" for a list item by its keys (strings quoted as Go quotes them),
// "[=value]" for an item of a set, "[3]" for an item of an atomic list.

// mergeSets reports whether the strategic-merge patch node sets the field at path or something
// under it.
func mergeSets(node *yaml.Node, path string) bool {
	node = deref(node)
	if path == "" {
		return true
	}
	switch {
	case node == nil:
		return false
	case path[0] == '.':
		if node.Kind != yaml.MappingNode {
			return false
		}
		for i := 0; i+1 < len(node.Content); i += 2 {
			if rest, ok := cutName(path, node.Content[i].Value); ok && mergeSets(node.Content[i+1], rest) {
				return true
			}
		}
	case path[0] == '[':
		el, rest, ok := cutElement(path)
		if !ok || node.Kind != yaml.SequenceNode {
			return false
		}
		for i, item := range node.Content {
			if el.matchesNode(i, deref(item)) && mergeSets(item, rest) {
				return true
			}
		}
	}
	return false
}

// operationsSet reports whether a JSON 6902 operation of the list ops adds, replaces, copies or
// moves something to the field at path, under it, or above it with a value that holds it.
// object is the rendered object, which tells the items that operations name by index.
func operationsSet(ops *yaml.Node, path string, object any) bool {
	for _, op := range ops.Content {
		kind := scalarField(op, "op")
		if kind != "add" && kind != "replace" && kind != "copy" && kind != "move" {
			continue
		}
		pointer, ok := strings.CutPrefix(scalarField(op, "path"), "/")
		if !ok {
			continue
		}
		rest, ok := pointerRest(strings.Split(pointer, "/"), path, object)
		switch {
		case !ok:
		case rest == "" || kind == "copy" || kind == "move":
			return true
		case mergeSets(field(op, "value"), rest):
			return true
		}
	}
	return false
}

// pointerRest follows the JSON pointer of tokens along path, from object, the rendered object,
// and returns what path names under the pointer, "" if the pointer leads to the field or under
// it, or false if it leads elsewhere.
func pointerRest(tokens []string, path string, object any) (string, bool) {
	for ; len(tokens) > 0 && path != ""; tokens = tokens[1:] {
		token := strings.ReplaceAll(strings.ReplaceAll(tokens[0], "~1", "/"), "~0", "~")
		if path[0] == '.' {
			rest, ok := cutName(path, token)
			if !ok {
				return "", false
			}
			m, _ := object.(map[string]any)
			path, object = rest, m[token]
			continue
		}
		el, rest, ok := cutElement(path)
		if !ok {
			return "", false
		}
		list, isList := object.([]any)
		n, err := strconv.Atoi(token)
		if token == "-" {
			n, err = len(list)-1, nil // appended: the last item now
		}
		switch {
		case err != nil:
			return "", false
		case isList && (n < 0 || n >= len(list) || !el.matchesValue(n, list[n])):
			return "", false
		case isList:
			object = list[n]
		default:
			object = nil // not known: any item may be the one
		}
		path = rest
	}
	if len(tokens) > 0 {
		return "", true
	}
	return path, true
}

// cutName returns what follows ".name" at the start of path, if path names that field.
func cutName(path, name string) (string, bool) {
	rest, ok := strings.CutPrefix(path[1:], name)
	if !ok || rest != "" && rest[0] != '.' && rest[0] != '[' {
		return "", false
	}
	return rest, true
}

// element is a list item as a path names it.
type element struct {
	index int // for "[3]", else -1
	keys  [][2]string
	value *string // for "[=value]"
}

// cutElement parses the "[…]" at the start of path and returns the rest of the path.
func cutElement(path string) (element, string, bool) {
	el := element{index: -1}
	s := path[1:]
	if end := strings.IndexByte(s, ']'); end > 0 && !strings.ContainsAny(s[:end], "=\"") {
		n, err := strconv.Atoi(s[:end])
		el.index = n
		return el, s[end+1:], err == nil
	}
	for {
		name, rest, ok := strings.Cut(s, "=")
		if !ok {
			return el, "", false
		}
		v, rest, ok := cutValue(rest)
		if !ok {
			return el, "", false
		}
		if name == "" {
			el.value = &v
		} else {
			el.keys = append(el.keys, [2]string{name, v})
		}
		switch {
		case strings.HasPrefix(rest, "]"):
			return el, rest[1:], true
		case strings.HasPrefix(rest, ","):
			s = rest[1:]
		default:
			return el, "", false
		}
	}
}

// cutValue parses a key's value, a Go-quoted string or a word.
func cutValue(s string) (string, string, bool) {
	if !strings.HasPrefix(s, `"`) {
		end := strings.IndexAny(s, ",]")
		if end < 0 {
			return "", "", false
		}
		return s[:end], s[end:], true
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			v, err := strconv.Unquote(s[:i+1])
			return v, s[i+1:], err == nil
		}
	}
	return "", "", false
}

// matchesNode reports whether item, the i-th of a patch's list, is the element.
func (el element) matchesNode(i int, item *yaml.Node) bool {
	switch {
	case el.index >= 0:
		return i == el.index
	case el.value != nil:
		return item != nil && item.Kind == yaml.ScalarNode && item.Value == *el.value
	}
	for _, kv := range el.keys {
		if v := deref(field(item, kv[0])); v == nil || v.Kind != yaml.ScalarNode || v.Value != kv[1] {
			return false
		}
	}
	return true
}

// matchesValue reports whether item, the i-th of a rendered list, is the element.
func (el element) matchesValue(i int, item any) bool {
	switch {
	case el.index >= 0:
		return i == el.index
	case el.value != nil:
		return fmt.Sprint(item) == *el.value
	}
	m, _ := item.(map[string]any)
	for _, kv := range el.keys {
		if v, ok := m[kv[0]]; !ok || fmt.Sprint(v) != kv[1] {
			return false
		}
	}
	return true
}

// field returns the value of key in a mapping node, or nil.
func field(node *yaml.Node, key string) *yaml.Node {
	node = deref(node)
	if node == nil || node.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		if node.Content[i].Value == key {
			return node.Content[i+1]
		}
	}
	return nil
}

// scalarField returns the scalar value of key in a mapping node, or "".
func scalarField(node *yaml.Node, key string) string {
	if v := deref(field(node, key)); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

// deref follows an alias.
func deref(node *yaml.Node) *yaml.Node {
	for i := 0; node != nil && node.Kind == yaml.AliasNode && i < 16; i++ {
		node = node.Alias
	}
	return node
}
