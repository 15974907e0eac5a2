package tree

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
)

// Shape is what a scan of one file found (see scanShape). Every figure is an upper bound on what
// go.yaml.in/yaml/v3 decodes, and on what kustomize makes of the file (aliases aside: they are
// not expanded), so that limits hold before either reads it.
type Shape struct {
	// Documents counts YAML documents: the implicit first one when it has content, and one per
	// "---" marker (an explicit document may be empty; the parser decodes it as null). Comments,
	// blank lines, directives and "..." markers alone make no document.
	Documents int
	// Objects bounds the Kubernetes objects kustomize makes of the file: one per document with
	// content, except that a document whose top-level mapping has an "items" sequence counts its
	// entries instead (kustomize expands kind List, and every kind ending in "List", into its
	// items), recursively for entries that are mappings with "items" of their own. The kind is not
	// read: a mapping with "items" counts as a list whatever its kind, an upper bound either way
	// that no escaped, tagged or aliased kind can fool.
	Objects int
	// Nodes bounds the YAML nodes the file decodes to: every mapping, sequence, scalar and alias,
	// counting each mapping key and value (an empty value is a null scalar) and each document's
	// root. An alias counts as one node: what it expands to is bounded by the alias check.
	Nodes int
	// MaxDepth bounds how deeply collections nest: a scalar document is 0, "a: b" is 1, "a: [b]"
	// is 2. Block nesting (by indentation, compact "- - x" and "- k: v" included) and flow nesting
	// add up, and a "k: v" entry of a flow sequence is a mapping of its own.
	MaxDepth int
}

// ShapeLimits stop a scan as soon as a file goes past one of them; zero (or less) means no limit,
// except that depth is always limited to maxShapeDepth. MaxObjects is meant to be what remains of
// a render's object budget when the file is read.
type ShapeLimits struct {
	MaxDepth   int
	MaxNodes   int
	MaxObjects int
}

// The Limit names of the LimitErrors scanShape returns.
const (
	limitShapeDepth   = "YAML nesting depth"
	limitShapeNodes   = "YAML nodes in one file"
	limitShapeObjects = "objects in one file (documents and List items)"
	limitShapeBOM     = "byte order marks (U+FEFF) after the start of the file"
)

// maxShapeDepth is the depth limit of a scan without a MaxDepth, which bounds its memory (48
// bytes a level). The parser refuses more than 10,000 levels of flow nesting, or of indentation.
const maxShapeDepth = 1 << 16

// utf8BOM is the UTF-8 byte order mark.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// scanShape scans one file's bytes before any YAML parser sees them and returns its Shape. It
// stops with a *LimitError (Path is path) as soon as the file goes past one of limits, having read
// only that far: a file nested too deeply is refused at the first collection past MaxDepth, a List
// of too many items at the first item past MaxObjects, a flood of nodes at the first node past
// MaxNodes. On error the Shape holds what was counted so far. The scan takes time linear in
// len(data) and allocates nothing for ordinary files (UTF-16 is converted to UTF-8 first, and
// nesting deeper than 64 levels takes an allocation or a few).
//
// It follows go.yaml.in/yaml/v3's tokenizer (scannerc.go) without building tokens: indentation,
// "- ", "? ", ": " and flow indicators are structure; comments, quoted scalars (escapes, doubled
// single quotes, several lines), block scalars (| and > with their indicators: their lines are
// skipped by indentation exactly as the parser does), plain scalars over several lines, tags,
// anchors, aliases and directives are not. Kustomize splits files at "---" lines before parsing
// them, in a few odd files differently from the parser (see markerLength): those are scanned both
// ways. For input the parser accepts, every figure is at least what it decodes; for input it
// rejects, the figures cover what it would read up to its error, and usually more.
//
// Known over-counts, in forms Kubernetes YAML hardly uses: an explicit key ("? k") charges its
// value twice, and in a mapping counted as an object its sequences count as items; an object with
// a merge key ("<<") counts every entry of every "items" sequence of its document, and one whose
// "items" is an alias every sequence entry; a key merely containing "items" (or double-quoted with
// an escape) is taken for "items"; while the file is read, a List nested in a List counts its own
// entry besides its items (the final figure does not). Objects that aliases stand for are not
// counted: the alias check bounds them.
//
// A byte order mark after the start of the file is refused (a LimitError with Max 0): after one,
// the parser may skip the first character of lines, which no scanner can predict.
func scanShape(path string, data []byte, limits ShapeLimits) (Shape, error) {
	if len(data) >= 2 && (data[0] == 0xFE && data[1] == 0xFF || data[0] == 0xFF && data[1] == 0xFE) {
		data = utf16ToUTF8(data)
	}
	data = bytes.TrimPrefix(data, utf8BOM)
	shape, splitsDiffer, err := scanShapeAs(path, data, limits, false)
	if err == nil && splitsDiffer {
		// Kustomize splits files into documents before parsing them, and this one differently
		// from the parser (see markerLength). Count it both ways.
		var split Shape
		split, _, err = scanShapeAs(path, data, limits, true)
		shape = Shape{
			Documents: max(shape.Documents, split.Documents),
			Objects:   max(shape.Objects, split.Objects),
			Nodes:     max(shape.Nodes, split.Nodes),
			MaxDepth:  max(shape.MaxDepth, split.MaxDepth),
		}
	}
	if err == nil && bytes.Contains(data, utf8BOM) { // checked last: a file refused early is not read to its end
		err = &LimitError{Path: path, Limit: limitShapeBOM, Value: int64(bytes.Count(data, utf8BOM)), Max: 0}
	}
	return shape, err
}

// scanShapeAs scans data as the parser reads it or, with kustomize, as kustomize splits it, and
// reports whether the two differ.
func scanShapeAs(path string, data []byte, limits ShapeLimits, kustomize bool) (Shape, bool, error) {
	if limits.MaxDepth <= 0 || limits.MaxDepth > maxShapeDepth {
		limits.MaxDepth = maxShapeDepth
	}
	s := shapeScanner{data: data, limits: limits, kustomize: kustomize, keyAllowed: true, keyPos: -1, lastSplit: -1}
	s.doc.rootObjects = 1
	if err := s.run(); err != nil {
		return s.shape, s.splitsDiffer, &LimitError{Path: path, Limit: s.limit, Value: int64(s.value), Max: int64(s.max)}
	}
	return s.shape, s.splitsDiffer, nil
}

// utf16ToUTF8 converts UTF-16 with a byte order mark, which the parser accepts, to UTF-8.
func utf16ToUTF8(data []byte) []byte {
	big := data[0] == 0xFE
	data = data[2:]
	out := make([]byte, 0, len(data)/2*3+4)
	unit := func(i int) rune {
		if big {
			return rune(data[i])<<8 | rune(data[i+1])
		}
		return rune(data[i+1])<<8 | rune(data[i])
	}
	for i := 0; i+1 < len(data); i += 2 {
		r := unit(i)
		if utf16.IsSurrogate(r) && i+3 < len(data) {
			if pair := utf16.DecodeRune(r, unit(i+2)); pair != utf8.RuneError {
				r = pair
				i += 2
			}
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}
