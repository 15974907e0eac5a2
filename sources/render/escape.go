package render

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// escapedError is an error whose message had characters escaped; errors.Is and errors.As see
// the error it escapes.
type escapedError struct {
	msg string
	err error
}

func (e *escapedError) Error() string { return e.msg }
func (e *escapedError) Unwrap() error { return e.err }

// escapeControls returns err, or, when its message holds a character that a terminal would
// not print as text (an escape sequence's ESC, a BEL, a carriage return, a Unicode format
// character such as a right-to-left override, invalid UTF-8), an error whose message has each
// such character escaped as Go's %q escapes it. Newlines and tabs, which kustomize's own
// multi-line messages use, and all printable text are kept as they are.
func escapeControls(err error) error {
	msg := err.Error()
	if strings.IndexFunc(msg, needsEscape) < 0 && utf8.ValidString(msg) {
		return err
	}
	var b strings.Builder
	for i := 0; i < len(msg); {
		r, size := utf8.DecodeRuneInString(msg[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, msg[i])
		case needsEscape(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(msg[i : i+size])
		}
		i += size
	}
	return &escapedError{msg: b.String(), err: err}
}

// needsEscape reports whether r is not printable text, other than a newline or a tab.
func needsEscape(r rune) bool {
	return r != '\n' && r != '\t' && r != ' ' && !unicode.IsPrint(r)
}
