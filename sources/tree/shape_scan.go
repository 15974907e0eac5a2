package tree

import (
	"bytes"
	"unicode"
)

// This file holds scanShape's tokenizer: it walks a file token by token as go.yaml.in/yaml/v3's
// scanner does (scannerc.go), without building tokens, and skips scalars and comments.

// Byte classes, indexed by byte.
var (
	// shapePlainStop ends a run of plain scalar content in the block context, shapePlainFlowStop
	// in the flow context, where flow indicators end plain scalars too.
	shapePlainStop, shapePlainFlowStop [256]bool
	// shapeQuoteStop marks what a quoted scalar must look at.
	shapeQuoteStop [256]bool
	// shapeBreakStart marks the first byte of a line break: \n, \r, NEL (C2 85), LS and PS
	// (E2 80 A8 and A9).
	shapeBreakStart [256]bool
	// shapeAnchorChar marks the characters of anchor and alias names.
	shapeAnchorChar [256]bool
)

func init() {
	for _, c := range []byte(" \t\n\r:\xC2\xE2") {
		shapePlainStop[c] = true
		shapePlainFlowStop[c] = true
	}
	for _, c := range []byte(",?[]{}") {
		shapePlainFlowStop[c] = true
	}
	for _, c := range []byte("'\"\\\n\r\xC2\xE2") {
		shapeQuoteStop[c] = true
	}
	for _, c := range []byte("\n\r\xC2\xE2") {
		shapeBreakStart[c] = true
	}
	for c := 0; c < 256; c++ {
		shapeAnchorChar[c] = c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-'
	}
}

// yamlBreakWidth is the length of the line break at data[i], 0 if there is none.
func yamlBreakWidth(data []byte, i int) int {
	switch data[i] {
	case '\n':
		return 1
	case '\r':
		if i+1 < len(data) && data[i+1] == '\n' {
			return 2
		}
		return 1
	case 0xC2:
		if i+1 < len(data) && data[i+1] == 0x85 {
			return 2
		}
	case 0xE2:
		if i+2 < len(data) && data[i+1] == 0x80 && (data[i+2] == 0xA8 || data[i+2] == 0xA9) {
			return 3
		}
	}
	return 0
}

// yamlLineBreak is yamlBreakWidth, quicker where most bytes are not line breaks.
func yamlLineBreak(data []byte, i int) int {
	if !shapeBreakStart[data[i]] {
		return 0
	}
	return yamlBreakWidth(data, i)
}

// yamlNextBreak is the offset of the first line break at or after pos, len(data) if there is none.
func yamlNextBreak(data []byte, pos int) int {
	for ; pos < len(data); pos++ {
		if shapeBreakStart[data[pos]] && yamlBreakWidth(data, pos) > 0 {
			return pos
		}
	}
	return len(data)
}

// isYAMLBlankz reports whether data[i] is a space, a tab, a line break or the end of the data.
func isYAMLBlankz(data []byte, i int) bool {
	if i >= len(data) {
		return true
	}
	switch data[i] {
	case ' ', '\t', '\n', '\r', 0:
		return true
	case 0xC2, 0xE2:
		return yamlBreakWidth(data, i) > 0
	}
	return false
}

// atMarker reports whether a document marker starts at pos, which must begin a line (see
// markerLength).
func (s *shapeScanner) atMarker(pos int) bool {
	return s.markerLength(pos) > 0
}

// markerLength is the length of the document marker at pos, which must begin a line, 0 if there
// is none: "---" or "..." followed by a blank or a line break, as the parser reads them.
//
// Kustomize splits files into documents before parsing them, at every line (after a "\n", up to
// the next "\n": a lone "\r" or a Unicode line break does not end it) that starts with "---" and
// goes on with nothing or a comment. When the two differ ("---#", or a line that is several lines
// to the parser), the scanner notes it; scanning as kustomize, such a line is a marker that runs
// to its "\n".
func (s *shapeScanner) markerLength(pos int) int {
	data := s.data
	if pos+3 > len(data) {
		return 0
	}
	c := data[pos]
	if c != '-' && c != '.' || data[pos+1] != c || data[pos+2] != c {
		return 0
	}
	marker := 0
	if isYAMLBlankz(data, pos+3) {
		marker = 3
	}
	if c != '-' || pos == 0 || data[pos-1] != '\n' || marker == 0 && data[pos+3] != '#' {
		return marker
	}
	// A line kustomize may split at.
	end := pos + bytes.IndexByte(data[pos:], '\n')
	if end < pos {
		return marker // no "\n" after it: kustomize does not split there
	}
	if end > pos && data[end-1] == '\r' {
		end-- // "\r\n" is a line break to both
	}
	if marker == 0 || yamlNextBreak(data[:end], pos) < end {
		s.splitsDiffer = true
	}
	if !s.kustomize || pos == s.lastSplit {
		return marker // the "\n" before it ends the previous separator: no split
	}
	if rest := bytes.TrimLeftFunc(data[pos+3:end], unicode.IsSpace); len(rest) > 0 && rest[0] != '#' {
		return marker // kustomize refuses the file
	}
	if end < len(data) && data[end] == '\r' {
		s.lastSplit = end + 2
	} else {
		s.lastSplit = end + 1
	}
	return end - pos
}

// run scans the whole file.
func (s *shapeScanner) run() error {
	data := s.data
	n := len(data)
	for {
		// Skip blanks, comments and line breaks up to the next token.
		pos := s.pos
		for pos < n {
			c := data[pos]
			if c == ' ' || c == '\t' {
				pos++
			} else if c == '#' {
				pos = yamlNextBreak(data, pos)
			} else if w := yamlLineBreak(data, pos); w > 0 {
				pos += w
				s.lineStart = pos
				if s.flow == 0 {
					s.keyAllowed = true
				}
			} else {
				break
			}
		}
		s.pos = pos
		if pos >= n {
			return s.endDocument()
		}
		if err := s.token(); err != nil {
			return err
		}
	}
}

// token scans the token at s.pos.
func (s *shapeScanner) token() error {
	data := s.data
	pos := s.pos
	c := data[pos]
	col := pos - s.lineStart
	if col == 0 {
		if n := s.markerLength(pos); n > 0 {
			return s.documentMarker(c == '-', n)
		}
		if c == '%' {
			return s.directive()
		}
	}
	entry := c == '-' && isYAMLBlankz(data, pos+1)
	if s.flow == 0 {
		s.unroll(col, entry)
	}
	switch c {
	case '-':
		if entry {
			if s.flow == 0 {
				return s.blockEntry(col)
			}
			s.pos++ // an entry in a flow collection: the parser rejects it
			s.tok = shapeTokOther
			return nil
		}
	case '?', ':':
		if s.flow > 0 {
			return s.flowIndicator(c == '?')
		}
		if isYAMLBlankz(data, pos+1) {
			if c == '?' {
				return s.blockKey(col)
			}
			return s.blockValue(col)
		}
	case '[', '{':
		return s.flowStart(c == '[')
	case ']', '}':
		return s.flowEnd()
	case ',':
		s.pos++
		if s.flow > 0 {
			s.endEntry(s.top())
			s.keyAllowed = true
		}
		s.tok = shapeTokOther
		return nil
	case '|', '>':
		if s.flow == 0 {
			return s.blockScalar()
		}
	case '\'', '"':
		return s.quoted(c)
	case '&', '*', '!':
		return s.property(c)
	}
	return s.plain()
}

// documentMarker handles a "---" (start) or "..." document marker of length n.
func (s *shapeScanner) documentMarker(start bool, n int) error {
	if err := s.endDocument(); err != nil {
		return err
	}
	s.pos += n
	s.keyAllowed, s.keyPos, s.tok = false, -1, shapeTokOther
	if !start {
		return nil
	}
	s.doc.open = true
	s.shape.Documents++
	return s.addNodes(1) // the root, null if the document is empty
}

// directive skips a "%" directive line, which ends any document (inside one, the parser fails).
func (s *shapeScanner) directive() error {
	if err := s.endDocument(); err != nil {
		return err
	}
	s.pos = yamlNextBreak(s.data, s.pos)
	s.keyAllowed, s.keyPos, s.tok = false, -1, shapeTokOther
	return nil
}

// saveKey notes that the token at s.pos may be an implicit key of a block mapping.
func (s *shapeScanner) saveKey() {
	s.keyPos, s.keyLine, s.keyMax = s.pos, s.lineStart, s.depth
}

// nodeStart is called where a node begins: it begins an entry of a flow collection, or may be
// an implicit key in the block context.
func (s *shapeScanner) nodeStart() error {
	if err := s.content(); err != nil {
		return err
	}
	if s.flow > 0 {
		return s.startEntry(s.top())
	}
	if s.keyAllowed {
		s.saveKey()
	}
	return nil
}

// blockEntry handles "- " in the block context.
func (s *shapeScanner) blockEntry(col int) error {
	if err := s.content(); err != nil {
		return err
	}
	s.keyPos = -1
	if f := s.top(); f == nil || f.col < col {
		if err := s.push(kBlockSeq, col); err != nil {
			return err
		}
	} else if f.kind == kBlockMap {
		if err := s.push(kIndentless, col); err != nil {
			return err
		}
	}
	s.pos++
	s.keyAllowed, s.tok = true, shapeTokOther
	return s.seqEntry(s.top())
}

// blockMapAt makes sure a block mapping is open at col.
func (s *shapeScanner) blockMapAt(col int) (opened bool, err error) {
	if f := s.top(); f != nil && f.col == col && f.kind == kBlockMap {
		return false, nil
	}
	return true, s.push(kBlockMap, col)
}

// blockKey handles "? " in the block context.
func (s *shapeScanner) blockKey(col int) error {
	if err := s.content(); err != nil {
		return err
	}
	s.keyPos = -1
	if _, err := s.blockMapAt(col); err != nil {
		return err
	}
	if err := s.registerKey(true); err != nil {
		return err
	}
	s.pos++
	s.keyAllowed, s.tok = true, shapeTokOther
	return nil
}

// blockValue handles ": " in the block context: the value of the implicit key saved on this
// line, which opens a mapping at the key's column if there is none, or of an explicit key.
func (s *shapeScanner) blockValue(col int) error {
	if err := s.content(); err != nil {
		return err
	}
	explicit := s.keyPos < 0 || s.keyLine != s.lineStart
	if explicit {
		if _, err := s.blockMapAt(col); err != nil {
			return err
		}
	} else {
		opened, err := s.blockMapAt(s.keyPos - s.keyLine)
		if err != nil {
			return err
		}
		if opened { // the key was read one level too shallow
			if err := s.note(s.keyMax + 1); err != nil {
				return err
			}
		}
	}
	s.keyPos = -1
	if err := s.registerKey(explicit); err != nil {
		return err
	}
	s.pos++
	s.keyAllowed, s.tok = explicit, shapeTokOther
	return nil
}

// flowStart handles "[" and "{".
func (s *shapeScanner) flowStart(seq bool) error {
	if err := s.nodeStart(); err != nil {
		return err
	}
	kind := kFlowMap
	if seq {
		kind = kFlowSeq
	}
	if err := s.push(kind, -1); err != nil {
		return err
	}
	s.pos++
	s.keyAllowed, s.tok = true, shapeTokOther
	return nil
}

// flowEnd handles "]" and "}".
func (s *shapeScanner) flowEnd() error {
	s.pos++
	s.keyAllowed, s.tok = false, shapeTokOther
	if s.flow == 0 {
		return s.content() // a stray bracket: the parser rejects it
	}
	s.pop()
	return nil
}

// flowIndicator handles "?" and ":" in the flow context.
func (s *shapeScanner) flowIndicator(key bool) error {
	f := s.top()
	if err := s.startEntry(f); err != nil {
		return err
	}
	if f.kind == kFlowSeq {
		if err := s.pair(f); err != nil {
			return err
		}
	} else if err := s.mapKey(f, key); err != nil {
		return err
	}
	s.pos++
	s.keyAllowed, s.tok = false, shapeTokOther
	return nil
}

// property skips an anchor, a tag or an alias.
func (s *shapeScanner) property(c byte) error {
	if err := s.nodeStart(); err != nil {
		return err
	}
	data := s.data
	pos := s.pos + 1
	if c == '!' {
		for pos < len(data) && !isYAMLBlankz(data, pos) {
			pos++
		}
	} else {
		for pos < len(data) && shapeAnchorChar[data[pos]] {
			pos++
		}
	}
	s.pos = pos
	s.keyAllowed, s.tok = false, shapeTokOther
	if c == '*' {
		s.tok = shapeTokAlias
		if f := s.top(); f != nil && f.flags&fAwait != 0 {
			return s.aliasValue(f) // "items: *x": the items could be any sequence
		}
	}
	return nil
}

// quoted skips a single- or double-quoted scalar.
func (s *shapeScanner) quoted(q byte) error {
	if err := s.nodeStart(); err != nil {
		return err
	}
	start := s.pos
	s.skipQuoted(q)
	s.keyAllowed = false
	s.tok, s.tokStart, s.tokEnd, s.tokQuote = shapeTokScalar, start, s.pos, q
	return nil
}

// plain skips a plain scalar.
func (s *shapeScanner) plain() error {
	if err := s.nodeStart(); err != nil {
		return err
	}
	start := s.pos
	end, newLine := s.skipPlain()
	s.keyAllowed = newLine
	s.tok, s.tokStart, s.tokEnd, s.tokQuote = shapeTokScalar, start, end, 0
	return nil
}

// blockScalar skips a literal or folded block scalar.
func (s *shapeScanner) blockScalar() error {
	if err := s.content(); err != nil {
		return err
	}
	s.keyPos = -1
	s.skipBlockScalar()
	s.keyAllowed, s.tok = true, shapeTokOther
	return nil
}
