package tree

// This file holds scanShape's scalar scanners, which skip what is not structure exactly as
// go.yaml.in/yaml/v3 reads it.

// skipQuoted moves past the quoted scalar at s.pos, as the parser reads it. A document marker at
// the start of a line ends it (the parser fails there).
func (s *shapeScanner) skipQuoted(q byte) {
	data := s.data
	n := len(data)
	pos := s.pos + 1
	for pos < n {
		c := data[pos]
		if !shapeQuoteStop[c] {
			pos++
			continue
		}
		if c == q {
			if q == '\'' && pos+1 < n && data[pos+1] == '\'' {
				pos += 2
				continue
			}
			s.pos = pos + 1
			return
		}
		if c == '\\' && q == '"' {
			pos++ // the escaped character follows, unless it is a line break
			if pos < n && yamlBreakWidth(data, pos) == 0 {
				pos++
			}
			continue
		}
		if w := yamlBreakWidth(data, pos); w > 0 {
			pos += w
			s.lineStart = pos
			if s.atMarker(pos) {
				break
			}
			continue
		}
		pos++
	}
	s.pos = pos
}

// skipPlain moves past the plain scalar at s.pos, as the parser reads it: to ": ", " #", a flow
// indicator in the flow context, a document marker, or a line indented no deeper than the
// innermost block collection. It returns the end of the scalar's last content and whether the
// scan ended at the start of a new line, where an implicit key may begin.
func (s *shapeScanner) skipPlain() (end int, newLine bool) {
	data := s.data
	n := len(data)
	pos := s.pos
	stop := &shapePlainStop
	indent := 0
	if s.flow > 0 {
		stop = &shapePlainFlowStop
	} else {
		indent = s.blockIndent() + 1
	}
	end = pos
	for pos < n {
		if data[pos] == '#' || pos == s.lineStart && s.atMarker(pos) {
			break
		}
		// Content up to a blank, a line break, ": " or a flow indicator.
		from := pos
		for pos < n {
			c := data[pos]
			if !stop[c] {
				pos++
				continue
			}
			if c == ':' && !isYAMLBlankz(data, pos+1) || c >= 0xC2 && yamlBreakWidth(data, pos) == 0 {
				pos++
				continue
			}
			break
		}
		if pos > from {
			end, newLine = pos, false
		}
		if pos >= n || data[pos] != ' ' && data[pos] != '\t' && yamlLineBreak(data, pos) == 0 {
			break
		}
		// Blanks and line breaks; the scalar goes on if the next line is indented enough.
		for pos < n {
			if c := data[pos]; c == ' ' || c == '\t' {
				pos++
			} else if w := yamlLineBreak(data, pos); w > 0 {
				pos += w
				s.lineStart = pos
				newLine = true
			} else {
				break
			}
		}
		if s.flow == 0 && pos-s.lineStart < indent {
			break
		}
	}
	if pos == s.pos { // cannot happen for a token the dispatcher sends here; never stall
		pos++
		end = pos
	}
	s.pos = pos
	return end, newLine
}

// skipBlockScalar moves past the block scalar whose indicator is at s.pos, to the start of the
// first line indented less than its content (or the end of the data). The content indentation is
// the header's indicator added to the parent's, or else that of the first non-empty line (at
// least one more than the parent's), exactly as the parser determines it.
func (s *shapeScanner) skipBlockScalar() {
	data := s.data
	n := len(data)
	pos := s.pos + 1
	increment := 0
	for i := 0; i < 2 && pos < n; i++ {
		if c := data[pos]; c == '+' || c == '-' {
			pos++
		} else if c >= '1' && c <= '9' {
			increment = int(c - '0')
			pos++
		}
	}
	// The rest of the header line holds blanks and a comment (anything else fails the parser).
	pos = yamlNextBreak(data, pos)
	if pos >= n {
		s.pos = n
		return
	}
	pos += yamlBreakWidth(data, pos)
	s.lineStart = pos
	parent := s.blockIndent()
	indent := 0
	if increment > 0 {
		indent = max(parent, 0) + increment
	} else {
		// Leading empty lines, then the first non-empty line, set the indentation.
		maxIndent := 0
		for {
			p := pos
			for p < n && data[p] == ' ' {
				p++
			}
			maxIndent = max(maxIndent, p-pos)
			if p < n {
				if w := yamlBreakWidth(data, p); w > 0 {
					pos = p + w
					s.lineStart = pos
					continue
				}
			}
			break
		}
		indent = max(maxIndent, parent+1, 1)
	}
	for pos < n {
		p, limit := pos, pos+indent
		for p < n && p < limit && data[p] == ' ' {
			p++
		}
		if p >= n {
			pos = n
			break
		}
		if p < limit {
			if w := yamlBreakWidth(data, p); w > 0 { // an empty line
				pos = p + w
				s.lineStart = pos
				continue
			}
			break // less indented: the scalar is over
		}
		e := yamlNextBreak(data, p)
		if e >= n {
			pos = n
			break
		}
		pos = e + yamlBreakWidth(data, e)
		s.lineStart = pos
	}
	s.pos = pos
}
