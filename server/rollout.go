package server

import (
	"context"
	"errors"
	"net/http"
)

// RolloutAgent is what the rollout routes ask of an agent that rolls Apps out in waves (the
// reconciler's does; an agent without it answers 501).
type RolloutAgent interface {
	// Rollout says where the App's rollout stands, after req.Verb ("" to only look): promote
	// skips the current wave's bake, abort stops the rollout where it is, resume goes on
	// after a halt or an abort. The answer is JSON-ready. An error wrapping ErrNotFound for an
	// unknown App, ErrNoRollout for an App without waves or a verb that does not apply.
	Rollout(ctx context.Context, req RolloutRequest) (any, error)
}

// RolloutRequest asks about an App's rollout, or changes it.
type RolloutRequest struct {
	App string `json:"app"`
	// Verb is "", promote, abort or resume.
	Verb string `json:"verb,omitempty"`
	// TokenName is the name of the API token that asked: the ledger records it as the actor.
	TokenName string `json:"tokenName,omitempty"`
}

// ErrNoRollout is what RolloutAgent.Rollout wraps when the App has no waves, no rollout under
// way, or the verb does not apply (a resume of a rollout that is neither halted nor aborted).
var ErrNoRollout = errors.New("no rollout")

// rollout answers GET /api/v1/apps/{app}/rollout (verb "") and POST
// /api/v1/apps/{app}/rollout/{promote,abort,resume}: 200 with the rollout's status, 404 for an
// unknown App, 409 when the App has no waves or the verb does not apply, 501 when the agent
// does not roll out in waves.
func (s *Server) rollout(verb string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		agent, ok := s.opts.Agent.(RolloutAgent)
		if !ok {
			writeError(w, http.StatusNotImplemented, "this agent does not roll out in waves")
			return
		}
		req := RolloutRequest{App: r.PathValue("app"), Verb: verb, TokenName: principalOf(r.Context())}
		out, err := agent.Rollout(r.Context(), req)
		switch {
		case errors.Is(err, ErrNotFound):
			writeError(w, http.StatusNotFound, "app not found")
			return
		case errors.Is(err, ErrNoRollout):
			writeError(w, http.StatusConflict, err.Error())
			return
		case err != nil:
			s.logger.Error("rollout failed", "app", req.App, "verb", verb, "token", req.TokenName, "error", err)
			writeError(w, http.StatusInternalServerError, "rollout failed")
			return
		}
		if verb != "" {
			s.logger.Info("rollout "+verb, "app", req.App, "token", req.TokenName)
		}
		writeJSON(w, http.StatusOK, out)
	}
}
