package server_test

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-dev/flotilla/server"
)

// writeFile writes a file of mode perm (chmod, so that the umask does not matter).
func writeFile(t *testing.T, path, content string, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
}

// TestLoadTokens reads token files, good and bad.
func TestLoadTokens(t *testing.T) {
	const good = "# ROLE NAME TOKEN\n\nviewer\tgrafana  0123456789abcdef0123\n   # indented comment\noperator ci fedcba9876543210fedc\n"
	tests := []struct {
		name, content string
		perm          os.FileMode
		want          []server.Token
		err           string // text the error must hold; "" for none
	}{
		{"good", good, 0o600, []server.Token{
			{Role: server.RoleViewer, Name: "grafana", Secret: "0123456789abcdef0123"},
			{Role: server.RoleOperator, Name: "ci", Secret: "fedcba9876543210fedc"},
		}, ""},
		{"read-only is fine", good, 0o400, []server.Token{
			{Role: server.RoleViewer, Name: "grafana", Secret: "0123456789abcdef0123"},
			{Role: server.RoleOperator, Name: "ci", Secret: "fedcba9876543210fedc"},
		}, ""},
		{"empty", "# nothing yet\n", 0o600, nil, ""},
		{"readable by others", good, 0o644, nil, "chmod 600"},
		{"readable by group", good, 0o640, nil, "chmod 600"},
		{"unknown role", "admin root 0123456789abcdef0123\n", 0o600, nil, `:1: role "admin": want viewer or operator`},
		{"two fields", "\nviewer 0123456789abcdef0123\n", 0o600, nil, ":2: want ROLE NAME TOKEN, found 2 fields"},
		{"short token", "viewer grafana s3cr3t\n", 0o600, nil, `:1: token "grafana" is shorter than 16 characters`},
		{"name twice", "viewer a 0123456789abcdef0123\noperator a fedcba9876543210fedc\n", 0o600, nil, `:2: token name "a" is used twice`},
		{"secret twice", "viewer a 0123456789abcdef0123\noperator b 0123456789abcdef0123\n", 0o600, nil, `:2: token "b" repeats the secret`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tokens")
			writeFile(t, path, tt.content, tt.perm)
			got, err := server.LoadTokens(path)
			if tt.err == "" && err != nil {
				t.Fatalf("error: %v", err)
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one holding %q", err, tt.err)
				}
				for _, secret := range []string{"0123456789abcdef0123", "fedcba9876543210fedc", "s3cr3t"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q shows a token", err)
					}
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("tokens (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := server.LoadTokens(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing token file was accepted")
	}
}

// TestEnsureLocalToken checks that the first start creates the local token with mode 0600 (and
// its folder 0700), and that later starts get the same token back.
func TestEnsureLocalToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "flotilla")
	token, err := server.EnsureLocalToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	if raw, err := hex.DecodeString(token); err != nil || len(raw) != 32 {
		t.Errorf("token %q is not 32 bytes of hex", token)
	}
	path := filepath.Join(dir, "token")
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("token file mode %04o, want 0600", perm)
	}
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("state folder: %v, mode %v, want 0700", err, info.Mode().Perm())
	}
	content, err := os.ReadFile(path)
	if err != nil || string(content) != token+"\n" {
		t.Errorf("token file holds %q (%v), want the token and a newline", content, err)
	}
	again, err := server.EnsureLocalToken(dir)
	if err != nil || again != token {
		t.Errorf("second start: %q, %v; want the same token", again, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("state folder holds %d entries, want only the token", len(entries))
	}
}

// TestEnsureLocalTokenConcurrent checks that agents starting at once agree on one token.
func TestEnsureLocalTokenConcurrent(t *testing.T) {
	dir := t.TempDir()
	tokens := make([]string, 8)
	var wg sync.WaitGroup
	for i := range tokens {
		wg.Go(func() {
			token, err := server.EnsureLocalToken(dir)
			if err != nil {
				t.Error(err)
			}
			tokens[i] = token
		})
	}
	wg.Wait()
	for _, token := range tokens[1:] {
		if token != tokens[0] {
			t.Fatalf("starts got different tokens: %q", tokens)
		}
	}
}

// TestEnsureLocalTokenRefuses checks that a local token file others may read, or one that holds
// no token, is refused, and not replaced.
func TestEnsureLocalTokenRefuses(t *testing.T) {
	tests := []struct {
		name, content string
		perm          os.FileMode
		err           string
	}{
		{"readable by others", strings.Repeat("ab", 32) + "\n", 0o644, "chmod 600"},
		{"writable by group", strings.Repeat("ab", 32) + "\n", 0o620, "chmod 600"},
		{"empty", "", 0o600, "does not hold one token"},
		{"two tokens", strings.Repeat("ab", 32) + " " + strings.Repeat("cd", 32), 0o600, "does not hold one token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "token")
			writeFile(t, path, tt.content, tt.perm)
			token, err := server.EnsureLocalToken(dir)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("got %q, %v; want an error holding %q", token, err, tt.err)
			}
			if strings.Contains(err.Error(), "abab") {
				t.Errorf("error %q shows the token", err)
			}
			if content, _ := os.ReadFile(path); string(content) != tt.content {
				t.Errorf("token file was changed to %q", content)
			}
		})
	}
}

// TestLocalTokenIsOperator checks that the local token works as an operator token.
func TestLocalTokenIsOperator(t *testing.T) {
	token, err := server.EnsureLocalToken(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Agent: newFakeAgent(), Tokens: []server.Token{{Role: server.RoleOperator, Name: server.LocalTokenName, Secret: token}}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: httpServe(t, srv.Handler())}
	if status, body := ts.do(t, "POST", "/api/v1/sources/fleet/refresh", token, nil, nil); status != 202 {
		t.Errorf("refresh with the local token: %d %s", status, body)
	}
}
