package render

import (
	"errors"
	"regexp"
	"strings"
)

// generatorValue matches the two kustomize errors that quote a generator's input: an env file
// line with invalid UTF-8 (printed as bytes and as text) and a literal without "=" (with the
// list of literals it came in; literals may span lines).
var generatorValue = regexp.MustCompile(`line \[[0-9 ]*\] has invalid utf8 bytes : .*|(?s:(literal sources \[.*)?invalid literal source .*, expected key=value)`)

// withoutGeneratorValues returns err, or, when its message quotes a secretGenerator's (or
// configMapGenerator's) input, an error that names the problem without the value.
func withoutGeneratorValues(err error) error {
	msg := err.Error()
	if !generatorValue.MatchString(msg) {
		return err
	}
	return errors.New(generatorValue.ReplaceAllStringFunc(msg, func(m string) string {
		if strings.HasPrefix(m, "line ") {
			return "a line of an env file has invalid UTF-8 (not shown: it may hold a secret value)"
		}
		return "a literal is not key=value (not shown: it may hold a secret value)"
	}))
}
