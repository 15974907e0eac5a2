package tree

// What counts as remote, and how references are shown in messages.

import (
	"regexp"
	"strconv"
	"strings"
)

// schemePattern matches a URL scheme followed by "//", or one of the schemes kustomize or Git
// fetch from without it.
var schemePattern = regexp.MustCompile(`^(?i)([a-z][a-z0-9+.-]*://|(https?|ssh|git|file|ftps?|s3|gs):)`)

// scpPattern matches scp-like Git addresses (git@host:org/repo, user@host/path): kustomize
// takes anything that starts with a user name and "@" for one.
var scpPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]*@`)

// isRemote reports whether kustomize (or Git under it) could fetch v from the network: a URL
// of any scheme, an scp-like address, a "git::" address, or a github.com path (which kustomize
// clones).
func isRemote(v string) bool {
	v = strings.TrimSpace(v)
	lower := strings.ToLower(v)
	switch {
	case strings.HasPrefix(lower, "git::"), strings.HasPrefix(lower, "github.com/"), strings.HasPrefix(lower, "github.com:"):
		return true
	}
	return schemePattern.MatchString(v) || scpPattern.MatchString(v)
}

// quoteURL prints a URL for an error message: quoted, without user information or query
// values (either may hold a token).
func quoteURL(v string) string {
	if base, query, ok := strings.Cut(v, "?"); ok && query != "" {
		v = base + "?" + redactQuery(query)
	}
	if scheme, rest, ok := strings.Cut(v, "://"); ok {
		host, tail, _ := strings.Cut(rest, "/")
		if at := strings.LastIndex(host, "@"); at >= 0 {
			host = "***@" + host[at+1:]
		}
		v = scheme + "://" + host
		if tail != "" || strings.Contains(rest, "/") {
			v += "/" + tail
		}
	}
	return strconv.Quote(v)
}

// quoteName prints a name from a repository for a message: as it is when plain, quoted
// otherwise.
func quoteName(s string) string {
	if needsQuoting(s) || strings.ContainsAny(s, " /") {
		return strconv.Quote(s)
	}
	return s
}

// redactQuery keeps the values of the query parameters kustomize defines for remote bases and
// replaces the others', which may hold a token.
func redactQuery(query string) string {
	pairs := strings.Split(query, "&")
	for i, pair := range pairs {
		key, _, hasValue := strings.Cut(pair, "=")
		switch key {
		case "ref", "version", "timeout", "submodules":
		default:
			if hasValue {
				pairs[i] = key + "=…"
			}
		}
	}
	return strings.Join(pairs, "&")
}

// quotePath prints a path for an error message: as it is when plain, quoted otherwise.
func quotePath(p string) string {
	return strconv.Quote(p)
}
