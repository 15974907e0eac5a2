package clusters

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/internal/object"
)

// Ignore says which fields that other managers set are left to them (an App's spec.drift
// ignoreManagers and ignore rules): a sync does not take them back, whatever its drift mode,
// and stops sending them, so that it no longer owns them.
type Ignore struct {
	// Managers are field managers whose fields are left alone.
	Managers []string
	// Rules name fields of some objects that are left alone once someone else set them.
	Rules []config.IgnoreRule
}

// ignores reports whether the conflict over a field of object id is to be left to its manager.
func (ig Ignore) ignores(id object.ID, c FieldConflict) bool {
	if slices.Contains(ig.Managers, c.Manager) {
		return true
	}
	path := parseFieldPath(c.Field)
	for _, rule := range ig.Rules {
		if rule.Kind != id.Kind || (rule.Name != "" && rule.Name != id.Name) || (rule.Namespace != "" && rule.Namespace != id.Namespace) {
			continue
		}
		for _, pointer := range rule.Fields {
			if pointerCovers(pointer, path) {
				return true
			}
		}
	}
	return false
}

// split sorts conflicts into those left to their managers and those a sync would take back.
func (ig Ignore) split(id object.ID, conflicts []FieldConflict) (left, taken []FieldConflict) {
	for _, c := range conflicts {
		if ig.ignores(id, c) {
			left = append(left, c)
		} else {
			taken = append(taken, c)
		}
	}
	return left, taken
}

// leftTo is the reason of a change that left fields to other managers.
func leftTo(conflicts []FieldConflict) string {
	return "left to " + describeConflicts(conflicts) + " (spec.drift ignore)"
}

// without returns d with the fields removed from what is applied, so that Flotilla stops
// owning them (the desired-hash annotation still says what Git asked for).
func (d *desiredObject) without(fields []FieldConflict) *desiredObject {
	out := *d
	out.obj = d.obj.DeepCopy()
	for _, f := range fields {
		removeField(out.obj.Object, parseFieldPath(f.Field))
	}
	return &out
}

// pathElement is one step of a field path as the API server writes it in conflicts:
// ".spec.replicas", ".spec.containers[name=\"web\"].image", ".spec.ports[port=80,protocol=\"TCP\"]".
type pathElement struct {
	field string
	// keys select a list entry by its key fields (or index, for "[0]"), when field is "".
	keys  map[string]string
	index int
}

// parseFieldPath reads a conflict's field path; what it cannot read ends the path there.
func parseFieldPath(s string) []pathElement {
	var out []pathElement
	for len(s) > 0 {
		switch s[0] {
		case '.':
			end := strings.IndexAny(s[1:], ".[")
			if end < 0 {
				end = len(s) - 1
			}
			out = append(out, pathElement{field: s[1 : end+1], index: -1})
			s = s[end+1:]
		case '[':
			end := closingBracket(s)
			if end < 0 {
				return out
			}
			out = append(out, parseSelector(s[1:end]))
			s = s[end+1:]
		default:
			return out
		}
	}
	return out
}

// closingBracket finds the ] that closes s's opening [, skipping quoted strings.
func closingBracket(s string) int {
	quoted := false
	for i := 1; i < len(s); i++ {
		switch {
		case s[i] == '\\' && quoted:
			i++
		case s[i] == '"':
			quoted = !quoted
		case s[i] == ']' && !quoted:
			return i
		}
	}
	return -1
}

// parseSelector reads `name="web"`, `port=80,protocol="TCP"` or `0`.
func parseSelector(sel string) pathElement {
	if i, err := strconv.Atoi(sel); err == nil {
		return pathElement{index: i}
	}
	e := pathElement{keys: map[string]string{}, index: -1}
	for _, part := range splitOutsideQuotes(sel) {
		key, value, _ := strings.Cut(part, "=")
		if unquoted, err := strconv.Unquote(value); err == nil {
			value = unquoted
		}
		e.keys[key] = value
	}
	return e
}

func splitOutsideQuotes(s string) []string {
	var parts []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && quoted:
			i++
		case s[i] == '"':
			quoted = !quoted
		case s[i] == ',' && !quoted:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// pointerCovers reports whether the JSON pointer names the field path or one of its parents; a
// number in the pointer stands for any entry of a list.
func pointerCovers(pointer string, path []pathElement) bool {
	segments := strings.Split(strings.TrimPrefix(pointer, "/"), "/")
	if len(segments) > len(path) {
		return false
	}
	for i, seg := range segments {
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
		_, numeric := strconv.Atoi(seg)
		switch e := path[i]; {
		case e.field != "" && e.field == seg:
		case e.field == "" && numeric == nil:
		default:
			return false
		}
	}
	return true
}

// removeField removes the field at path from obj, if it is there.
func removeField(obj map[string]any, path []pathElement) {
	if len(path) == 0 || path[0].field == "" {
		return
	}
	if len(path) == 1 {
		delete(obj, path[0].field)
		return
	}
	next := obj[path[0].field]
	rest := path[1:]
	if rest[0].field == "" { // a list entry
		list, _ := next.([]any)
		for i, item := range list {
			entry, ok := item.(map[string]any)
			if ok && rest[0].selects(i, entry) {
				if len(rest) == 1 {
					obj[path[0].field] = append(list[:i:i], list[i+1:]...)
				} else {
					removeField(entry, rest[1:])
				}
				return
			}
		}
		return
	}
	if child, ok := next.(map[string]any); ok {
		removeField(child, rest)
	}
}

// selects reports whether the element picks the list's entry i.
func (e pathElement) selects(i int, entry map[string]any) bool {
	if e.keys == nil {
		return e.index == i
	}
	for k, v := range e.keys {
		if fmt.Sprint(entry[k]) != v {
			return false
		}
	}
	return true
}
