package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Provider is the kind of Git host that sent a webhook; each has its own route, secret,
// signature and payload.
type Provider string

// The providers Verify and Parse understand.
const (
	GitHub  Provider = "github"
	GitLab  Provider = "gitlab"
	Gitea   Provider = "gitea" // Gitea and Forgejo
	Generic Provider = "generic"
)

// Providers lists every Provider, in the order of the constants.
var Providers = []Provider{GitHub, GitLab, Gitea, Generic}

// Valid reports whether p is one of Providers.
func (p Provider) Valid() bool {
	switch p {
	case GitHub, GitLab, Gitea, Generic:
		return true
	}
	return false
}

// MaxBody is the largest body a receiver should read; past it the server answers 413. It holds
// a GitHub push payload listing the 2,048 commits GitHub lists at most (see the package doc).
const MaxBody = 4 << 20

// Headers that carry signatures, tokens and event names.
const (
	HeaderGitHubSignature  = "X-Hub-Signature-256"
	HeaderGitHubEvent      = "X-GitHub-Event"
	HeaderGitLabToken      = "X-Gitlab-Token"
	HeaderGitLabEvent      = "X-Gitlab-Event"
	HeaderGiteaSignature   = "X-Gitea-Signature"
	HeaderGiteaEvent       = "X-Gitea-Event"
	HeaderForgejoSignature = "X-Forgejo-Signature"
	HeaderForgejoEvent     = "X-Forgejo-Event"
	HeaderGenericSignature = "X-Flotilla-Signature"
)

// Push is what a webhook says was pushed. It is only used to decide which Sources to fetch,
// never what gets applied.
type Push struct {
	Provider Provider
	// Repositories holds every URL form the payload gives for the repository (clone_url,
	// html_url, ssh_url, git_http_url, …), without duplicates, in the payload's order.
	Repositories []string
	// Ref is the full ref: refs/heads/main, refs/tags/v1.2.0.
	Ref string
	// Commit is the payload's "after": what the ref points at now (for an annotated tag, the
	// tag object). Empty when the payload gives none or the push deleted the ref.
	Commit string
	// Deleted is true when the push deleted the ref.
	Deleted bool
}

// Errors that Verify and Parse return, for the server to branch on with errors.Is.
var (
	// ErrSignature is a missing or wrong signature or token, or an empty secret: the server
	// answers 401 without detail.
	ErrSignature = errors.New("webhook: missing or wrong signature")
	// ErrMalformed is a body or header that does not parse as the provider's push event (it is
	// wrapped with the detail): the server answers 400.
	ErrMalformed = errors.New("webhook: malformed request")
	// ErrIgnored is a valid event that is not a push (GitHub's ping, GitLab's other hooks,
	// Gitea's create): the server answers 202 and does nothing else.
	ErrIgnored = errors.New("webhook: not a push event")
	// ErrProvider is a Provider that is not one of Providers.
	ErrProvider = errors.New("webhook: unknown provider")
)

// Verify checks the request's signature or token against secret, in constant time. An empty
// secret refuses everything. The secret is used as given: a caller reading it from a file trims
// the file's trailing newline first. It returns nil or an error wrapping ErrSignature (or
// ErrProvider).
func Verify(p Provider, header http.Header, body, secret []byte) error {
	if !p.Valid() {
		return fmt.Errorf("%w %q", ErrProvider, p)
	}
	if len(secret) == 0 {
		return ErrSignature
	}
	switch p {
	case GitHub:
		return verifyHMAC(header, HeaderGitHubSignature, "sha256=", body, secret)
	case GitLab:
		return verifyToken(header, secret)
	case Gitea:
		name := HeaderGiteaSignature
		if len(header.Values(HeaderForgejoSignature)) > 0 {
			name = HeaderForgejoSignature
		}
		return verifyHMAC(header, name, "", body, secret)
	default:
		return verifyHMAC(header, HeaderGenericSignature, "sha256=", body, secret)
	}
}

// verifyHMAC checks that header name holds exactly one value, prefix followed by the hex
// HMAC-SHA256 of body keyed with secret.
func verifyHMAC(header http.Header, name, prefix string, body, secret []byte) error {
	values := header.Values(name)
	if len(values) != 1 {
		return ErrSignature
	}
	hexSum, ok := cutPrefixFold(strings.TrimSpace(values[0]), prefix)
	if !ok {
		return ErrSignature
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil || len(got) != sha256.Size {
		return ErrSignature
	}
	if !hmac.Equal(got, sum(body, secret)) {
		return ErrSignature
	}
	return nil
}

// verifyToken checks GitLab's X-Gitlab-Token, which holds the secret itself. Both sides are
// hashed first so that the comparison takes the same time whatever their lengths.
func verifyToken(header http.Header, secret []byte) error {
	values := header.Values(HeaderGitLabToken)
	if len(values) != 1 || values[0] == "" {
		return ErrSignature
	}
	got, want := sha256.Sum256([]byte(values[0])), sha256.Sum256(secret)
	if !hmac.Equal(got[:], want[:]) {
		return ErrSignature
	}
	return nil
}

func sum(body, secret []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return mac.Sum(nil)
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return "", false
	}
	return s[len(prefix):], true
}

// Sign returns the headers with which a sender of provider p authenticates body with secret:
// what Verify checks. It is for tests, and for scripts that send the generic webhook.
func Sign(p Provider, body, secret []byte) http.Header {
	h := http.Header{}
	mac := hex.EncodeToString(sum(body, secret))
	switch p {
	case GitHub:
		h.Set(HeaderGitHubSignature, "sha256="+mac)
	case GitLab:
		h.Set(HeaderGitLabToken, string(secret))
	case Gitea:
		h.Set(HeaderGiteaSignature, mac)
	case Generic:
		h.Set(HeaderGenericSignature, "sha256="+mac)
	}
	return h
}

// Parse reads a verified push event: a Push, or an error wrapping ErrMalformed (with the
// detail), ErrIgnored or ErrProvider. A Push it returns has a Ref starting with refs/ and at
// least one repository URL.
func Parse(p Provider, header http.Header, body []byte) (Push, error) {
	var push Push
	var err error
	switch p {
	case GitHub:
		push, err = parseGitHub(header, body)
	case GitLab:
		push, err = parseGitLab(header, body)
	case Gitea:
		push, err = parseGitea(header, body)
	case Generic:
		push, err = parseGeneric(body)
	default:
		return Push{}, fmt.Errorf("%w %q", ErrProvider, p)
	}
	if err != nil {
		return Push{}, err
	}
	push.Provider = p
	return push, nil
}
