package server

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// Role is what a token may do.
type Role string

// Roles, each allowed what the one before it is, and more.
const (
	// RoleViewer may read: GET /api/v1/….
	RoleViewer Role = "viewer"
	// RoleOperator may also act: POST /api/v1/… (sync, refresh, rollback, unpin).
	RoleOperator Role = "operator"
)

// allows reports whether a token of role r may do what needs role need.
func (r Role) allows(need Role) bool {
	switch need {
	case RoleViewer:
		return r == RoleViewer || r == RoleOperator
	case RoleOperator:
		return r == RoleOperator
	}
	return false
}

// Token is one bearer token the API accepts.
type Token struct {
	// Role is what the token may do.
	Role Role
	// Name says whose token it is, for logs; it is never the secret.
	Name string
	// Secret is the bearer token itself.
	Secret string
}

// LocalTokenName is the name of the operator token EnsureLocalToken creates.
const LocalTokenName = "local"

// localTokenFile is the file under the state folder that holds the local operator token.
const localTokenFile = "token"

// minTokenLength is the shortest token LoadTokens accepts: 16 characters.
const minTokenLength = 16

// LoadTokens reads a token file: one token per line, `ROLE NAME TOKEN` separated by spaces or
// tabs, ROLE viewer or operator, NAME unique, TOKEN at least 16 characters without spaces.
// Blank lines and lines starting with # are skipped. The file must not be readable or writable
// by group or other (chmod 600). Errors give the line, never a token.
func LoadTokens(path string) ([]Token, error) {
	data, err := readPrivateFile(path)
	if err != nil {
		return nil, err
	}
	var tokens []Token
	names := map[string]bool{}
	secrets := map[string]bool{}
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; scanner.Scan(); line++ {
		text := strings.TrimSpace(scanner.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		t, err := parseTokenLine(text)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if names[t.Name] {
			return nil, fmt.Errorf("%s:%d: token name %q is used twice", path, line, t.Name)
		}
		if secrets[t.Secret] {
			return nil, fmt.Errorf("%s:%d: token %q repeats the secret of an earlier token", path, line, t.Name)
		}
		names[t.Name], secrets[t.Secret] = true, true
		tokens = append(tokens, t)
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("read token file %s: %w", path, err)
	}
	return tokens, nil
}

// parseTokenLine reads `ROLE NAME TOKEN`.
func parseTokenLine(text string) (Token, error) {
	fields := strings.Fields(text)
	if len(fields) != 3 {
		return Token{}, fmt.Errorf("want ROLE NAME TOKEN, found %d fields", len(fields))
	}
	t := Token{Role: Role(fields[0]), Name: fields[1], Secret: fields[2]}
	if t.Role != RoleViewer && t.Role != RoleOperator {
		return Token{}, fmt.Errorf("role %q: want %s or %s", fields[0], RoleViewer, RoleOperator)
	}
	if len(t.Secret) < minTokenLength {
		return Token{}, fmt.Errorf("token %q is shorter than %d characters", t.Name, minTokenLength)
	}
	return t, nil
}

// EnsureLocalToken returns the operator token (named "local") that the local CLI uses, kept in
// stateDir/token: the first start creates the folder (mode 0700) and the file (mode 0600, 32
// random bytes as hex, a newline), later starts read it again. A token file that group or other
// may read is refused (chmod 600).
func EnsureLocalToken(stateDir string) (string, error) {
	path := filepath.Join(stateDir, localTokenFile)
	token, err := readLocalToken(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return token, err
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return "", fmt.Errorf("create state folder: %w", err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("generate local token: %w", err)
	}
	token = hex.EncodeToString(raw[:])
	if err := writeNewPrivateFile(path, []byte(token+"\n")); err != nil {
		if errors.Is(err, fs.ErrExist) { // another agent started at the same moment
			return readLocalToken(path)
		}
		return "", err
	}
	return token, nil
}

// readLocalToken reads the token EnsureLocalToken wrote.
func readLocalToken(path string) (string, error) {
	data, err := readPrivateFile(path)
	if err != nil {
		return "", err
	}
	token := strings.TrimSpace(string(data))
	if len(token) < minTokenLength || strings.ContainsAny(token, " \t\r\n") {
		return "", fmt.Errorf("local token file %s does not hold one token: delete it and restart to create a new one", path)
	}
	return token, nil
}

// writeNewPrivateFile writes data to path with mode 0600 unless path exists (fs.ErrExist):
// to a temporary file first, linked into place, so that no one ever reads half a token.
func writeNewPrivateFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".token-*")
	if err != nil {
		return fmt.Errorf("create local token: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("create local token: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write local token: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write local token: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write local token: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("create local token: %w", err)
	}
	return nil
}

// readPrivateFile reads a file that holds secrets, refusing one that group or other may read or
// write.
func readPrivateFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open token file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open token file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("token file %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("token file %s has mode %04o: group and other may not read it, run chmod 600 %s", path, perm, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read token file: %w", err)
	}
	return data, nil
}

// principal is the token a request came with: its name and role.
type principal struct {
	name string
	role Role
}

// tokenSet checks bearer tokens in constant time: every presented token is hashed and compared
// with the hash of every known token, so neither the length nor the first differing byte of a
// known token shows in the time an answer takes.
type tokenSet struct {
	hashes [][sha256.Size]byte
	owners []principal
}

// newTokenSet keeps the hashes of tokens.
func newTokenSet(tokens []Token) (*tokenSet, error) {
	s := &tokenSet{}
	for _, t := range tokens {
		if t.Role != RoleViewer && t.Role != RoleOperator {
			return nil, fmt.Errorf("token %q: role %q: want %s or %s", t.Name, t.Role, RoleViewer, RoleOperator)
		}
		if t.Secret == "" {
			return nil, fmt.Errorf("token %q: empty secret", t.Name)
		}
		s.hashes = append(s.hashes, sha256.Sum256([]byte(t.Secret)))
		s.owners = append(s.owners, principal{name: t.Name, role: t.Role})
	}
	return s, nil
}

// lookup returns whose token secret is, comparing it with every known token.
func (s *tokenSet) lookup(secret string) (principal, bool) {
	h := sha256.Sum256([]byte(secret))
	found := -1
	for i := range s.hashes {
		if subtle.ConstantTimeCompare(h[:], s.hashes[i][:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return principal{}, false
	}
	return s.owners[found], true
}

// bearer returns the token of an `Authorization: Bearer TOKEN` header.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// authorize wraps next so that it runs only for a request with a token of a role that allows
// need: 401 without a token or with an unknown one (the answer does not say which), 403 for a
// known token whose role does not allow need.
func (s *Server) authorize(need Role, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearer(r)
		var who principal
		if ok {
			who, ok = s.tokens.lookup(token)
		}
		if !ok {
			s.logger.Warn("request refused: no valid token", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", `Bearer realm="flotilla"`)
			writeError(w, http.StatusUnauthorized, "unauthorized")
			return
		}
		if !who.role.allows(need) {
			s.logger.Warn("request refused: role not allowed", "method", r.Method, "path", r.URL.Path, "token", who.name, "role", string(who.role))
			writeError(w, http.StatusForbidden, "forbidden")
			return
		}
		next(w, r.WithContext(withPrincipal(r.Context(), who)))
	}
}
