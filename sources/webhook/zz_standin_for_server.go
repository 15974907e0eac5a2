// STAND-IN, NOT THE REAL PACKAGE. This file exists only so that package server compiles and its
// tests run on branch agent-server before branch agent-webhook (the real sources/webhook) is
// merged. It declares the API server calls, with just enough behaviour (GitHub only) for server's
// tests. Delete this file (git rm sources/webhook/zz_standin_for_server.go) when the real package
// lands: the two would declare the same names.

// Package webhook is a stand-in for the real webhook parser (see the file's first comment).
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Provider names a Git host's webhook dialect.
type Provider string

// Providers.
const (
	// GitHub signs with X-Hub-Signature-256.
	GitHub Provider = "github"
	// GitLab sends its secret in X-Gitlab-Token.
	GitLab Provider = "gitlab"
	// Gitea (and Forgejo) sign with X-Gitea-Signature.
	Gitea Provider = "gitea"
	// Generic signs with an HMAC-SHA256 of the body.
	Generic Provider = "generic"
)

// MaxBody is the largest webhook body accepted, in bytes.
const MaxBody = 1 << 20

// Errors Verify and Parse wrap.
var (
	// ErrSignature: the signature or token is missing or wrong.
	ErrSignature = errors.New("webhook signature does not match")
	// ErrMalformed: the payload cannot be read.
	ErrMalformed = errors.New("malformed webhook payload")
	// ErrIgnored: an event that is not a push (a ping).
	ErrIgnored = errors.New("webhook event ignored")
)

// Push is what a push event says: which repositories (URLs), which ref, which commit.
type Push struct {
	Provider     Provider
	Repositories []string
	Ref          string
	Commit       string
}

// Verify checks body's signature in header against secret (stand-in: GitHub's scheme for all).
func Verify(p Provider, header http.Header, body, secret []byte) error {
	sig, ok := strings.CutPrefix(header.Get("X-Hub-Signature-256"), "sha256=")
	got, err := hex.DecodeString(sig)
	if !ok || err != nil || len(secret) == 0 {
		return fmt.Errorf("%s: %w", p, ErrSignature)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("%s: %w", p, ErrSignature)
	}
	return nil
}

// Parse reads a push event (stand-in: GitHub's payload for all).
func Parse(p Provider, header http.Header, body []byte) (Push, error) {
	if header.Get("X-GitHub-Event") != "push" {
		return Push{}, fmt.Errorf("%s: %w", p, ErrIgnored)
	}
	var payload struct {
		Ref        string `json:"ref"`
		After      string `json:"after"`
		Repository struct {
			CloneURL string `json:"clone_url"`
			HTMLURL  string `json:"html_url"`
		} `json:"repository"`
	}
	if err := json.Unmarshal(body, &payload); err != nil {
		return Push{}, fmt.Errorf("%s: %w: %w", p, ErrMalformed, err)
	}
	return Push{Provider: p, Repositories: []string{payload.Repository.CloneURL, payload.Repository.HTMLURL}, Ref: payload.Ref, Commit: payload.After}, nil
}
