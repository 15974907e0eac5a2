package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"https://git.example.com/fleet.git", "https://git.example.com/fleet.git"},
		{"https://bob:PASSWORD@git.example.com/x.git", "https://***@git.example.com/x.git"},
		{"https://bob:PASSWORD@exa mple.com/x.git", "https://***@exa mple.com/x.git"},
		{"https://bob:PASS@WORD@git.example.com/x.git", "https://***@git.example.com/x.git"},
		{"https://bob:pa/ss@git.example.com/x.git", "https://***@git.example.com/x.git"},
		{"https://bob:12/ss@git.example.com/x.git", "https://***@git.example.com/x.git"},
		{"https://ghp_TOKEN@github.com/o/r.git", "https://***@github.com/o/r.git"}, // a token as the user name
		{"HTTPS://ghp_TOKEN@github.com/o/r.git", "HTTPS://***@github.com/o/r.git"},
		{"ssh://git@git.example.com:2222/r.git", "ssh://git@git.example.com:2222/r.git"},
		{"ssh://git:PASSWORD@git.example.com/r.git", "ssh://***@git.example.com/r.git"},
		{"git@github.com:o/r.git", "git@github.com:o/r.git"},
		{"bob:PASSWORD@github.com:o/r.git", "***@github.com:o/r.git"},
		{"bob:PASS@WORD@github.com:o/r.git", "***@github.com:o/r.git"},
		{"file:///srv/git/r@v1.git", "file:///srv/git/r@v1.git"},
		{"/srv/git/r.git", "/srv/git/r.git"},
		{"file:///srv/x:PASSWORD@host/r.git", "file://***@host/r.git"},
		{"", ""},
		{"::not a url:PASSWORD@", "***@"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzRedactURL: whatever the text, no password written as user:PASSWORD@ survives.
func FuzzRedactURL(f *testing.F) {
	f.Add("https://", "bob", "host/x.git")
	f.Add("", "git", "host:o/r.git")
	f.Add("ssh://", "a@b", "c:d@e/f")
	f.Fuzz(func(t *testing.T, prefix, user, rest string) {
		const password = "Sup3rSecretPassword"
		if strings.Contains(prefix+user+rest, "Sup3r") {
			return
		}
		got := RedactURL(prefix + user + ":" + password + "@" + rest)
		if strings.Contains(got, password) {
			t.Fatalf("RedactURL(%q) = %q shows the password", prefix+user+":"+password+"@"+rest, got)
		}
	})
}

func TestLoadNeverEchoesURLCredentials(t *testing.T) {
	tests := []struct {
		name string
		url  string
		want string // must appear in the error
	}{
		{"unparsable with password", "https://bob:PASSWORD@exa mple.com/x.git", `spec.url: not a URL: parse "https://***@exa mple.com/x.git": invalid character " " in host name`},
		{"password with a slash", "https://bob:PASS/WORD@git.example.com/x.git", "spec.url: not a URL"},
		{"password with a slash and digits", "https://bob:1234/PASSWORD@git.example.com/x.git", "spec.url: has an '@' after the host"},
		{"parsable with password", "https://bob:PASSWORD@git.example.com/x.git", "spec.url: holds a password; credentials are never inline"},
		{"scp-like with password", "bob:PASSWORD@git.example.com:o/r.git", "spec.url: holds a password (user:password@host:path); credentials are never inline"},
		{"control character", "https://bob:PASSWORD@git.example.com/x\n.git", "spec.url: holds a control character"},
		{"bad escape", "https://bob:PASSWORD@git.example.com/%zz", `not a URL: parse "https://***@git.example.com/%zz": invalid URL escape "%zz"`},
		{"bad port", "https://bob:PASSWORD@git.example.com:http/x", `not a URL: parse "https://***@git.example.com:http/x": invalid port ":http" after host`},
		{"unsupported scheme", "ftp://bob:PASSWORD@git.example.com/x.git", `scheme "ftp" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := doc("Source", "s", "spec:\n  url: "+quoteYAML(tt.url)+"\n  ref: {branch: main}\n")
			_, err := LoadBytes("c.yaml", []byte(yaml))
			var cfgErr *Error
			if !errors.As(err, &cfgErr) {
				t.Fatalf("LoadBytes: err = %v, want *config.Error", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error does not contain %q:\n%s", tt.want, msg)
			}
			if strings.Contains(msg, "PASSWORD") || strings.Contains(msg, "bob") {
				t.Errorf("error shows the user or password:\n%s", msg)
			}
		})
	}
}

// quoteYAML writes s as a double-quoted YAML scalar.
func quoteYAML(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '\\' || r == '"':
			b.WriteString(`\` + string(r))
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
