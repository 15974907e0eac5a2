package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// maxRefLen bounds a ref's length; Git itself refuses far shorter names on most systems.
const maxRefLen = 1024

// eventHeader returns the first of the named headers that is present, trimmed, and whether
// any is.
func eventHeader(header http.Header, names ...string) (string, bool) {
	for _, name := range names {
		if values := header.Values(name); len(values) > 0 {
			return strings.TrimSpace(values[0]), true
		}
	}
	return "", false
}

// decodeJSON decodes a JSON push payload into v. A form body (GitHub and Gitea can send
// "application/x-www-form-urlencoded") carries the JSON in its "payload" field.
func decodeJSON(header http.Header, body []byte, v any) error {
	if mediaType, _, err := mime.ParseMediaType(header.Get("Content-Type")); err == nil && mediaType == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return fmt.Errorf("%w: form body: %w", ErrMalformed, err)
		}
		if len(form["payload"]) != 1 {
			return fmt.Errorf("%w: form body without exactly one payload field", ErrMalformed)
		}
		body = []byte(form.Get("payload"))
	}
	return strictJSON(body, v, false)
}

// strictJSON decodes exactly one JSON object into v; with known, fields v lacks are refused.
func strictJSON(body []byte, v any, known bool) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if known {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: JSON body: %w", ErrMalformed, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: JSON body: data after the object", ErrMalformed)
	}
	return nil
}

// newPush checks what a payload says and builds a Push from it: ref must be a full ref, after
// empty or a hex object name (all zeros: the ref was deleted), and repos must hold at least one
// URL (empty ones are dropped, and duplicates).
func newPush(ref, after string, deleted bool, repos ...string) (Push, error) {
	if err := checkRef(ref); err != nil {
		return Push{}, err
	}
	commit, zero, err := checkCommit(after)
	if err != nil {
		return Push{}, err
	}
	push := Push{Ref: ref, Commit: commit, Deleted: deleted || zero}
	if push.Deleted {
		push.Commit = ""
	}
	seen := map[string]bool{}
	for _, r := range repos {
		r = strings.TrimSpace(r)
		if r == "" || seen[r] {
			continue
		}
		seen[r] = true
		push.Repositories = append(push.Repositories, r)
	}
	if len(push.Repositories) == 0 {
		return Push{}, fmt.Errorf("%w: the payload names no repository URL", ErrMalformed)
	}
	return push, nil
}

// checkRef accepts a full ref name (refs/…) without spaces or control characters.
func checkRef(ref string) error {
	switch {
	case ref == "":
		return fmt.Errorf("%w: the payload names no ref", ErrMalformed)
	case len(ref) > maxRefLen:
		return fmt.Errorf("%w: ref of %d bytes", ErrMalformed, len(ref))
	case !strings.HasPrefix(ref, "refs/") || len(ref) == len("refs/"):
		return fmt.Errorf("%w: ref %q is not a full ref (refs/heads/… or refs/tags/…)", ErrMalformed, brief(ref))
	case strings.IndexFunc(ref, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		return fmt.Errorf("%w: ref %q holds a space or control character", ErrMalformed, brief(ref))
	}
	return nil
}

// checkCommit accepts an empty commit or a SHA-1 or SHA-256 object name in hex, returned in
// lower case, and says whether it is all zeros (Git's "no object": the ref was deleted).
func checkCommit(after string) (commit string, zero bool, err error) {
	if after == "" {
		return "", false, nil
	}
	if len(after) != 40 && len(after) != 64 {
		return "", false, fmt.Errorf("%w: commit %q is not a 40 or 64 digit hex object name", ErrMalformed, brief(after))
	}
	zero = true
	for _, c := range after {
		switch {
		case c == '0':
		case c >= '1' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
			zero = false
		default:
			return "", false, fmt.Errorf("%w: commit %q is not a 40 or 64 digit hex object name", ErrMalformed, brief(after))
		}
	}
	return strings.ToLower(after), zero, nil
}

// brief shortens a value quoted in an error message.
func brief(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
