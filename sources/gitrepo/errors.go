package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/flotilla-dev/flotilla/config"
)

// FetchError is why a Source could not be fetched: the Source, where its configuration is
// written (file and line of the field to look at, when known) and the cause. Every App of the
// Source fails with the same error, so a caller that reports per App × Cluster can tell it apart
// (errors.As) and report it once per Source.
type FetchError struct {
	// Source is the Source's name.
	Source string
	// URL is the Source's URL with any password or token left out (config.RedactURL).
	URL string
	// File and Line are where Field is written; File is empty for a Source not read from a file.
	File string
	Line int
	// Field is the field of the Source to look at, such as spec.url or spec.ref.branch; empty
	// when no field is to blame (the cache folder, say).
	Field string
	// Err is the cause, without the Source's name or field.
	Err error
}

func (e *FetchError) Error() string {
	var b strings.Builder
	if e.File != "" {
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	}
	b.WriteString("Source/" + e.Source + ": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *FetchError) Unwrap() error { return e.Err }

// newFetchError makes err, from fetching src, a *FetchError naming the field a *fieldError in it
// blames.
func newFetchError(src *config.Source, err error) *FetchError {
	fe := &FetchError{Source: src.Metadata.Name, URL: config.RedactURL(src.Spec.URL), Err: err}
	var field *fieldError
	if errors.As(err, &field) {
		fe.Field, fe.Err = field.field, field.err
	}
	if src.Origin.File != "" {
		fe.File, fe.Line = src.Origin.File, src.Origin.LineOf(fe.Field)
	}
	return fe
}

// fieldError blames a field of the Source (spec.url, spec.ref.branch, …) for err.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.field + ": " + e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

// inField blames field for err.
func inField(field string, err error) error { return &fieldError{field: field, err: err} }

// RefNotFoundError is a branch or tag that the remote does not have, with the names it does
// have.
type RefNotFoundError struct {
	// Kind is "branch" or "tag".
	Kind string
	// Name is the branch or tag the Source asks for.
	Name string
	// URL is the remote, redacted.
	URL string
	// Available are the remote's branches (or tags), sorted.
	Available []string
}

// maxRefsListed bounds the names a RefNotFoundError lists before "…".
const maxRefsListed = 10

func (e *RefNotFoundError) Error() string {
	msg := fmt.Sprintf("%s %q not found on %s", e.Kind, e.Name, e.URL)
	if len(e.Available) == 0 {
		return msg + fmt.Sprintf("; the remote has no %ses: push one, or fix the URL", e.Kind)
	}
	return msg + fmt.Sprintf("; the remote has %ses %s: set spec.ref.%s to one of them", e.Kind, namesList(e.Available), e.Kind)
}

// namesList joins up to maxRefsListed names, then "…" and how many there are in all.
func namesList(names []string) string {
	if len(names) > maxRefsListed {
		return fmt.Sprintf("%s, … (%d in all)", strings.Join(names[:maxRefsListed], ", "), len(names))
	}
	return strings.Join(names, ", ")
}

// transportError explains an error of listing or fetching the remote at url (already redacted):
// what went wrong and what to change, blaming spec.url or spec.auth. go-git's HTTP errors end
// with the response body, empty for a 404 ("repository not found: "); a body that only repeats
// the error, or is long, is left out.
func transportError(verb, url string, err error, hasAuth bool) error {
	switch {
	case errors.Is(err, transport.ErrRepositoryNotFound):
		hint := "check the URL, or set spec.auth if the repository is private"
		if hasAuth {
			hint = "check the URL, or that the credentials in spec.auth may read the repository"
		}
		return inField("spec.url", explain(err, "%s %s: repository not found%s; %s (servers such as GitHub answer \"not found\" to a client that may not read a repository)",
			verb, url, serverReason(err, transport.ErrRepositoryNotFound), hint))
	case errors.Is(err, transport.ErrAuthenticationRequired):
		hint := "set spec.auth (basic, token or ssh)"
		if hasAuth {
			hint = "the server refused the credentials in spec.auth: check the password or token they name"
		}
		return inField("spec.auth", explain(err, "%s %s: authentication required%s; %s", verb, url, serverReason(err, transport.ErrAuthenticationRequired), hint))
	case errors.Is(err, transport.ErrAuthorizationFailed):
		return inField("spec.auth", explain(err, "%s %s: authorization failed%s; the credentials in spec.auth may not read this repository",
			verb, url, serverReason(err, transport.ErrAuthorizationFailed)))
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s %s: %w", verb, url, err)
	}
	return inField("spec.url", fmt.Errorf("%s %s: %w; check the URL, and that the server is reachable from here", verb, url, err))
}

// serverReason is what the server said after go-git's sentinel error in err, as " (…)", or "".
func serverReason(err, sentinel error) string {
	msg := err.Error()
	i := strings.LastIndex(msg, sentinel.Error())
	if i < 0 {
		return ""
	}
	rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(msg[i+len(sentinel.Error()):]), ":"))
	if rest == "" || len(rest) > 200 || strings.ContainsAny(rest, "\n<") ||
		strings.EqualFold(strings.TrimSuffix(rest, "."), sentinel.Error()) {
		return ""
	}
	return " (the server says: " + rest + ")"
}

// explained is an error with a message of its own that keeps the error it explains for
// errors.Is and errors.As.
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

func explain(err error, format string, args ...any) error {
	return &explained{msg: fmt.Sprintf(format, args...), err: err}
}
