package config

import (
	"strings"
)

// RedactURL returns a Source URL fit to print in a message: user information that may hold a
// credential is replaced by "***". A password (user:password@) is always replaced, with its user
// name. A user name alone is kept only for ssh:// and scp-like user@host:path URLs, where it is the
// SSH login ("git"); with any other scheme it is replaced too, since https://TOKEN@host/… puts an
// access token there.
//
// rawURL need not be a valid URL: RedactURL works on the text, and where it is ambiguous (more than
// one '@', or a ':' or '/' before the first '@') it replaces everything from the host's start up
// to the last '@', so that a password holding '@' or '/' never shows. A URL without '@' is
// returned unchanged, and so is a path or file:/// URL without a ':' before its '@'.
func RedactURL(rawURL string) string {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok || !isScheme(scheme) {
		scheme, rest = "", rawURL
	}
	prefix := rawURL[:len(rawURL)-len(rest)]
	first, last := strings.IndexByte(rest, '@'), strings.LastIndexByte(rest, '@')
	switch {
	case first < 0:
		return rawURL
	case strings.HasPrefix(rest, "/") && !strings.Contains(rest[:last], ":"):
		return rawURL // no host part: file:///srv/git/r@v1.git, /srv/git/r@v1.git
	case first == last && !strings.ContainsAny(rest[:first], ":/?#") && isSSHScheme(scheme):
		return rawURL // git@host:path, ssh://git@host/path
	}
	return prefix + "***@" + rest[last+1:]
}

// isScheme reports whether s is a URL scheme: a letter, then letters, digits, '+', '-' or '.'.
func isScheme(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
		case i > 0 && ('0' <= r && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return true
}

// isSSHScheme reports whether a URL with this scheme ("" for scp-like user@host:path) is SSH,
// whose user name is a login rather than a credential.
func isSSHScheme(scheme string) bool {
	switch strings.ToLower(scheme) {
	case "", "ssh", "git+ssh", "ssh+git":
		return true
	}
	return false
}
