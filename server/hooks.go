package server

import (
	"errors"
	"io"
	"net/http"

	"github.com/flotilla-dev/flotilla/sources/webhook"
)

// Webhook results, the result label of flotilla_webhook_requests_total.
const (
	hookQueued       = "queued"        // a push queued the fetch of at least one Source
	hookUnmatched    = "unmatched"     // a push no Source follows
	hookIgnored      = "ignored"       // an event that is not a push (a ping)
	hookBadSignature = "bad_signature" // a missing or wrong signature or token
	hookMalformed    = "malformed"     // a payload that could not be read
	hookTooLarge     = "too_large"     // a body over webhook.MaxBody
	hookUnconfigured = "unconfigured"  // a provider with no secret
	hookError        = "error"         // the body could not be read
)

// hookAccepted is the body of every 202 to a webhook: the Sources whose fetch was queued (none
// for a push no Source follows), and whether the event was ignored (a ping).
type hookAccepted struct {
	Sources []string `json:"sources"`
	Ignored bool     `json:"ignored,omitempty"`
}

// hook answers POST /hooks/{provider}: 404 for a provider without a secret, 413 for a body over
// webhook.MaxBody, 401 for a bad signature, 400 for a payload that cannot be read, 202 for an
// ignored event, and 202 with the Sources once their fetch is queued.
func (s *Server) hook(p webhook.Provider) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		result := s.handleHook(p, w, r)
		s.metrics.webhookRequest(string(p), result)
	}
}

// handleHook answers a webhook request and returns its result for the metrics.
func (s *Server) handleHook(p webhook.Provider, w http.ResponseWriter, r *http.Request) string {
	secret := s.opts.WebhookSecrets[p]
	if len(secret) == 0 {
		s.logger.Warn("webhook refused: no secret configured for this provider", "provider", string(p), "remote", r.RemoteAddr)
		writeError(w, http.StatusNotFound, "webhook not configured")
		return hookUnconfigured
	}
	body, err := readBody(w, r, int64(webhook.MaxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		s.logger.Warn("webhook refused: body too large", "provider", string(p), "remote", r.RemoteAddr, "limit", int64(webhook.MaxBody))
		writeError(w, http.StatusRequestEntityTooLarge, "body too large")
		return hookTooLarge
	case err != nil:
		s.logger.Warn("webhook refused: body not read", "provider", string(p), "remote", r.RemoteAddr, "error", err)
		writeError(w, http.StatusBadRequest, "body could not be read")
		return hookError
	}
	if err := webhook.Verify(p, r.Header, body, secret); err != nil {
		s.logger.Warn("webhook refused: bad signature", "provider", string(p), "remote", r.RemoteAddr, "error", err)
		writeError(w, http.StatusUnauthorized, "invalid signature")
		return hookBadSignature
	}
	push, err := webhook.Parse(p, r.Header, body)
	switch {
	case errors.Is(err, webhook.ErrIgnored):
		s.logger.Debug("webhook event ignored", "provider", string(p), "reason", err)
		writeJSON(w, http.StatusAccepted, hookAccepted{Sources: []string{}, Ignored: true})
		return hookIgnored
	case err != nil:
		s.logger.Warn("webhook refused: malformed payload", "provider", string(p), "remote", r.RemoteAddr, "error", err)
		writeError(w, http.StatusBadRequest, "malformed payload")
		return hookMalformed
	}
	sources := s.opts.Agent.Push(r.Context(), push)
	if sources == nil {
		sources = []string{}
	}
	s.logger.Info("webhook push", "provider", string(p), "repositories", push.Repositories, "ref", push.Ref, "commit", push.Commit, "sources", sources)
	writeJSON(w, http.StatusAccepted, hookAccepted{Sources: sources})
	if len(sources) == 0 {
		return hookUnmatched
	}
	return hookQueued
}

// readBody reads r's body up to limit bytes; past it, an error that is an *http.MaxBytesError.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
}
