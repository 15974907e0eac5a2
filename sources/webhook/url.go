package webhook

import (
	"net"
	"net/url"
	"path"
	"strings"
)

// defaultPorts are the ports left out of a normalised URL, per scheme.
var defaultPorts = map[string]string{
	"http": "80", "https": "443", "ssh": "22", "git+ssh": "22", "ssh+git": "22", "git": "9418",
}

// NormalizeRepoURL makes the forms of one repository's URL equal, so that a webhook's URL can
// be compared with a Source's spec.url: the scheme is dropped (http, https, ssh, git, git+ssh
// and scp-like user@host:path are one), and so are user info, the scheme's default port, a
// query, a fragment, a trailing ".git" and trailing slashes; the host is lower-cased; the path
// keeps its case. "https://GitHub.com/acme/fleet.git", "git@github.com:acme/fleet" and
// "ssh://git@github.com:22/acme/fleet/" all give "github.com/acme/fleet". A file:// URL or a
// local path gives "file://" and the cleaned path. It returns "" for what is no repository URL
// (empty, no host, an unknown scheme, or not parseable), and "" matches nothing.
func NormalizeRepoURL(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" || strings.IndexFunc(raw, isControl) >= 0 {
		return ""
	}
	if host, port, p, ok := splitSCP(raw); ok {
		return join(host, port, "22", p)
	}
	if strings.HasPrefix(raw, "/") {
		if p := cleanPath(raw); p != "" {
			return "file://" + p
		}
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return ""
		}
		if p := cleanPath(u.Path); p != "" {
			return "file://" + p
		}
		return ""
	case "http", "https", "ssh", "git", "git+ssh", "ssh+git":
		return join(u.Hostname(), u.Port(), defaultPorts[u.Scheme], u.Path)
	}
	return ""
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f }

// splitSCP splits Git's scp-like form [user@]host:path, which has no "://" and no slash before
// the first colon. Git also reads [host:port]:path and [IPv6 address]:path.
func splitSCP(raw string) (host, port, p string, ok bool) {
	if strings.Contains(raw, "://") {
		return "", "", "", false
	}
	rest := raw
	if at := strings.IndexByte(rest, '@'); at >= 0 && !strings.ContainsAny(rest[:at], "/:") {
		rest = rest[at+1:]
	}
	if strings.HasPrefix(rest, "[") {
		end := strings.Index(rest, "]:")
		if end < 0 {
			return "", "", "", false
		}
		host, p = rest[1:end], rest[end+2:]
		if h, pt, err := net.SplitHostPort(host); err == nil {
			host, port = h, pt
		}
	} else {
		colon := strings.IndexByte(rest, ':')
		if colon <= 0 || strings.ContainsAny(rest[:colon], "/@[]") {
			return "", "", "", false
		}
		host, p = rest[:colon], rest[colon+1:]
	}
	return host, port, p, host != "" && !strings.ContainsAny(host, "[]/@")
}

// join builds host[:port]/path, leaving out a default port and, when nothing is left of the
// path, giving "" (a host alone is no repository).
func join(host, port, defaultPort, p string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" || strings.ContainsAny(host, "/@ ") {
		return ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" && port != defaultPort {
		host = net.JoinHostPort(strings.Trim(host, "[]"), port)
	}
	p = cleanPath(p)
	if p == "" {
		return ""
	}
	return host + p
}

// cleanPath makes a repository path absolute and clean, without trailing slashes or ".git";
// "" when nothing is left.
func cleanPath(p string) string {
	p = path.Clean("/" + p)
	for {
		trimmed := strings.TrimSuffix(strings.TrimRight(p, "/"), ".git")
		if trimmed == p {
			break
		}
		p = trimmed
	}
	if p == "" || p == "/" {
		return ""
	}
	return p
}
