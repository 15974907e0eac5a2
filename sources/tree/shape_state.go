package tree

import (
	"bytes"
	"errors"
)

// This file holds scanShape's state: the stack of open collections and what it counts.

// shapeScanner is the state of one scan. Collections open at the current position are a stack of
// frames: block collections (known by their indentation column) with flow collections on top.
type shapeScanner struct {
	data      []byte
	pos       int // next byte to read
	lineStart int // offset of the current line: columns are pos - lineStart
	limits    ShapeLimits
	shape     Shape
	// kustomize scans as kustomize splits files (see markerLength); splitsDiffer records that
	// the file has lines where that differs from the parser; lastSplit is where the last such
	// split ended.
	kustomize, splitsDiffer bool
	lastSplit               int
	// The limit a scan went past, when it returns errShapeLimit.
	limit      string
	value, max int

	// The stack: frames[:open], continued in more past len(frames), so that ordinary files
	// allocate nothing (a slice into the scanner itself would make it escape to the heap).
	open   int
	frames [64]shapeFrame
	more   []shapeFrame
	flow   int // flow collections open (the top frames of the stack)
	depth  int // current nesting depth

	// keyAllowed is the parser's simple_key_allowed: whether the next token may start an
	// implicit key. keyPos is where the block context's possible key starts (-1: none), on the
	// line starting at keyLine; keyMax is the deepest depth reached since, for the mapping the
	// key opens once its ":" is seen.
	keyAllowed bool
	keyPos     int
	keyLine    int
	keyMax     int

	// The last token, to tell an "items" key: its kind, bytes and quote (0 when plain).
	tok              int
	tokStart, tokEnd int
	tokQuote         byte

	doc shapeDoc
}

// shapeDoc is what the scanner keeps about the current document, to bound its objects. Every
// object kustomize makes of a document is an entry of a sequence under an "items" key (or the
// document itself, or what an alias stands for: aliases are bounded elsewhere).
type shapeDoc struct {
	open, content bool
	rootObjects   int // objects of the root: 1 unless it is a mapping with items
	items         int // entries of the List item sequences of the root, of its items, and so on
	itemsLike     int // entries of every sequence under a key that may be "items"
	seq           int // entries of every sequence
	// merged is set when an object (a mapping counted as one) has a merge key, or an explicit
	// key that may be one: its items may be any items-like sequence of the document. aliased is
	// set when an object's items are an alias, aliasItems when any "items" is one: then they
	// may be any sequence.
	merged, aliased, aliasItems bool
}

// bound is an upper bound on the objects of the document read so far.
func (d *shapeDoc) bound() int {
	n := max(1, d.items)
	if d.aliased || d.merged && d.aliasItems {
		return max(n, d.seq)
	}
	if d.merged {
		return max(n, d.itemsLike)
	}
	return n
}

// shapeFrame is one open collection.
type shapeFrame struct {
	col   int // indentation column of a block collection; -1 for a flow collection
	depth int // nesting depth of the collection itself
	// elem and total are the deepest depths reached in the current entry and in the whole of a
	// flow collection, so that an entry of a flow sequence found to be "k: v" (a mapping of its
	// own) deepens everything already read in it.
	elem, total int
	// items is, for a mapping that may be an object, the objects of its "items" sequences; for
	// an "items" sequence, the objects of its entries.
	items int
	kind  uint8
	flags uint8
}

// Frame kinds.
const (
	kBlockMap uint8 = iota
	kBlockSeq
	kIndentless // a block sequence at its parent mapping's indentation ("k:\n- v")
	kFlowMap
	kFlowSeq
)

// Frame flags.
const (
	fCandidate uint8 = 1 << iota // a mapping that may be an object: a document's root or a List item
	fItems                       // a sequence whose entries are List items: under a candidate's "items"
	fItemsLike                   // a sequence under any mapping's "items"
	fAwait                       // a mapping whose last key may be "items"
	fPair                        // a flow sequence whose current entry is a "k: v" mapping
	fStarted                     // a flow collection whose current entry has begun
)

// Token kinds, for shapeScanner.tok.
const (
	shapeTokOther = iota
	shapeTokScalar
	shapeTokAlias
)

// isShapeMap reports whether frames of kind k are mappings.
func isShapeMap(k uint8) bool { return k == kBlockMap || k == kFlowMap }

// at returns the i-th frame of the stack.
func (s *shapeScanner) at(i int) *shapeFrame {
	if i < len(s.frames) {
		return &s.frames[i]
	}
	return &s.more[i-len(s.frames)]
}

// top returns the innermost open collection, nil if there is none.
func (s *shapeScanner) top() *shapeFrame {
	if s.open == 0 {
		return nil
	}
	return s.at(s.open - 1)
}

// blockIndent is the parser's indentation level: the innermost block collection's column.
func (s *shapeScanner) blockIndent() int {
	if s.open == 0 {
		return -1
	}
	return s.at(s.open - 1).col
}

// errShapeLimit is what the scanner's methods return when the file goes past a limit; scanShape
// turns it into a LimitError. (Building that here would make the scanner, which holds the
// stack's first frames, escape to the heap.)
var errShapeLimit = errors.New("over a shape limit")

// limitError records that the file went past a limit.
func (s *shapeScanner) limitError(limit string, value, max int) error {
	s.limit, s.value, s.max = limit, value, max
	return errShapeLimit
}

// note records that the nesting reached depth d.
func (s *shapeScanner) note(d int) error {
	if d > s.limits.MaxDepth {
		return s.limitError(limitShapeDepth, d, s.limits.MaxDepth)
	}
	if d > s.shape.MaxDepth {
		s.shape.MaxDepth = d
	}
	return nil
}

// addNodes counts n nodes.
func (s *shapeScanner) addNodes(n int) error {
	s.shape.Nodes += n
	if s.limits.MaxNodes > 0 && s.shape.Nodes > s.limits.MaxNodes {
		return s.limitError(limitShapeNodes, s.shape.Nodes, s.limits.MaxNodes)
	}
	return nil
}

// checkObjects compares the objects of finished documents plus a bound on the current one's
// against MaxObjects.
func (s *shapeScanner) checkObjects() error {
	if s.limits.MaxObjects <= 0 {
		return nil
	}
	if total := s.shape.Objects + s.doc.bound(); total > s.limits.MaxObjects {
		return s.limitError(limitShapeObjects, total, s.limits.MaxObjects)
	}
	return nil
}

// push opens a collection one level deeper than the current position.
func (s *shapeScanner) push(kind uint8, col int) error {
	d := s.depth + 1
	if err := s.note(d); err != nil {
		return err
	}
	f := shapeFrame{col: col, depth: d, elem: d, total: d, kind: kind}
	if s.open == 0 {
		if isShapeMap(kind) {
			f.flags = fCandidate
		}
	} else {
		p := s.at(s.open - 1)
		if p.flags&fItems != 0 && isShapeMap(kind) {
			f.flags = fCandidate
		}
		if p.flags&fAwait != 0 {
			if !isShapeMap(kind) {
				f.flags |= fItemsLike
				if p.flags&fCandidate != 0 {
					f.flags |= fItems
				}
			}
			p.flags &^= fAwait
		}
	}
	switch i := s.open - len(s.frames); {
	case i < 0:
		s.frames[s.open] = f
	case i < len(s.more):
		s.more[i] = f
	default:
		if s.more == nil { // one allocation for all, unless the limit is high
			s.more = make([]shapeFrame, 0, min(s.limits.MaxDepth, 1024)-len(s.frames))
		}
		s.more = append(s.more, f)
	}
	s.open++
	s.depth = d
	if kind >= kFlowMap {
		s.flow++
	}
	return nil
}

// pop closes the innermost collection, handing its deepest depth and its objects to its parent.
func (s *shapeScanner) pop() {
	n := s.open - 1
	f := s.at(n)
	var p *shapeFrame
	if n > 0 {
		p = s.at(n - 1)
	}
	if f.kind >= kFlowMap {
		s.endEntry(f)
		s.flow--
		if p != nil && p.kind >= kFlowMap {
			p.elem = max(p.elem, f.total)
		} else {
			s.keyMax = max(s.keyMax, f.total)
		}
	}
	switch {
	case f.flags&fCandidate != 0:
		objects := max(1, f.items)
		if p == nil {
			s.doc.rootObjects = objects
		} else if p.flags&fItems != 0 {
			p.items += objects - 1 // its entry counted one
		}
	case f.flags&fItems != 0 && p != nil && p.flags&fCandidate != 0:
		p.items += f.items
	}
	s.depth = f.depth - 1
	s.open = n
}

// unroll closes the block collections that a token at col ends, as the parser does: those
// indented deeper, and a sequence at its mapping's indentation unless the token is an entry.
func (s *shapeScanner) unroll(col int, entry bool) {
	for s.open > 0 {
		f := s.at(s.open - 1)
		if f.col > col || f.col == col && f.kind == kIndentless && !entry {
			s.pop()
			continue
		}
		return
	}
}

// seqEntry counts an entry of sequence f.
func (s *shapeScanner) seqEntry(f *shapeFrame) error {
	if err := s.addNodes(1); err != nil {
		return err
	}
	s.doc.seq++
	if f.flags&fItemsLike != 0 {
		s.doc.itemsLike++
	}
	if f.flags&fItems != 0 {
		f.items++
		s.doc.items++
	}
	if f.flags&fItems != 0 || s.doc.merged || s.doc.aliased {
		return s.checkObjects()
	}
	return nil
}

// startEntry counts the entry of flow collection f that a token begins, unless it has begun.
func (s *shapeScanner) startEntry(f *shapeFrame) error {
	if f.flags&fStarted != 0 {
		return nil
	}
	f.flags |= fStarted
	if f.kind == kFlowSeq {
		return s.seqEntry(f)
	}
	return s.addNodes(2) // key and value
}

// endEntry ends the current entry of flow collection f (at "," or its closing bracket).
func (s *shapeScanner) endEntry(f *shapeFrame) {
	f.total = max(f.total, f.elem)
	if f.flags&fPair != 0 {
		s.depth--
	}
	f.flags &^= fPair | fStarted | fAwait
	f.elem = f.depth
}

// pair makes the current entry of flow sequence f a single-pair mapping ("[k: v]"), one level
// deeper than the sequence: everything read in the entry so far is one level deeper too.
func (s *shapeScanner) pair(f *shapeFrame) error {
	if f.flags&fPair != 0 {
		return nil
	}
	f.flags |= fPair
	s.depth++
	f.elem++
	if err := s.note(f.elem); err != nil {
		return err
	}
	return s.addNodes(2)
}

// registerKey counts a key of the innermost block mapping and checks it with mapKey.
func (s *shapeScanner) registerKey(explicit bool) error {
	if err := s.mapKey(s.top(), explicit); err != nil {
		return err
	}
	return s.addNodes(2)
}

// mapKey notes whether the key of mapping f just read (the last token, unless explicit) may be
// "items", and, if f may be an object, whether it may be a merge key ("<<").
func (s *shapeScanner) mapKey(f *shapeFrame, explicit bool) error {
	if explicit || s.keyMayBeItems() {
		f.flags |= fAwait
	} else {
		f.flags &^= fAwait
	}
	if f.flags&fCandidate == 0 {
		return nil
	}
	if explicit || s.tok == shapeTokScalar && bytes.Contains(s.data[s.tokStart:s.tokEnd], []byte("<<")) {
		s.doc.merged = true
		return s.checkObjects()
	}
	return nil
}

// keyMayBeItems reports whether the last token, a key, may decode to "items".
func (s *shapeScanner) keyMayBeItems() bool {
	switch s.tok {
	case shapeTokAlias:
		return true
	case shapeTokScalar:
		key := s.data[s.tokStart:s.tokEnd]
		if len(key) < len("items") {
			return false
		}
		return bytes.Contains(key, []byte("items")) || s.tokQuote == '"' && bytes.IndexByte(key, '\\') >= 0
	}
	return false
}

// aliasValue notes an alias as the value of an "items" key.
func (s *shapeScanner) aliasValue(f *shapeFrame) error {
	s.doc.aliasItems = true
	if f.flags&fCandidate != 0 {
		s.doc.aliased = true
	}
	if s.doc.aliased || s.doc.merged {
		return s.checkObjects()
	}
	return nil
}

// content notes a token of a document's content, starting an implicit document if needed.
func (s *shapeScanner) content() error {
	s.doc.content = true
	if s.doc.open {
		return nil
	}
	s.doc.open = true
	s.shape.Documents++
	return s.addNodes(1) // the root
}

// endDocument closes everything open and counts the document's objects.
func (s *shapeScanner) endDocument() error {
	for s.open > 0 {
		s.pop()
	}
	s.flow, s.depth = 0, 0
	if !s.doc.open {
		return nil
	}
	objects := 0
	if s.doc.content {
		objects = s.doc.rootObjects
		if s.doc.aliased || s.doc.merged {
			objects = max(objects, s.doc.bound())
		}
	}
	s.doc = shapeDoc{rootObjects: 1}
	s.shape.Objects += objects
	if s.limits.MaxObjects > 0 && s.shape.Objects > s.limits.MaxObjects {
		return s.limitError(limitShapeObjects, s.shape.Objects, s.limits.MaxObjects)
	}
	return nil
}
