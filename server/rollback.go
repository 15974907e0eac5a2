package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flotilla-dev/flotilla/history"
)

// rollbackParams and unpinParams are the query parameters of a rollback and an unpin, in the
// order errors list them.
var (
	rollbackParams = []string{"cluster", "to", "steps", "reason", "forceConflicts", "confirmPrune"}
	unpinParams    = []string{"cluster"}
)

// MaxReasonLength bounds a rollback's reason, in bytes.
const MaxReasonLength = 1000

// rollbackApp answers POST /api/v1/apps/{app}/rollback?cluster=C&to=REV&steps=N&reason=TEXT,
// exactly one of to and steps, once every rollback is over: the clusters are rolled back one
// after the other, each waiting for health up to the App's health timeout. A rollback that has
// started goes on to its end, and is recorded, when the client goes away. The answers:
//
//	200 RollbackDone: one result per cluster; a rollback that failed or was refused says so in
//	    its status and error, and the others ran all the same
//	400 a query it cannot use, naming the parameter: an unknown or repeated one, both or
//	    neither of to and steps, to not a commit's hex digits (4 at least), steps not a whole
//	    number from 1, a reason over MaxReasonLength
//	404 an unknown App, or a cluster it does not select
//	409 a cluster's ledger holds no applied revision that to names or steps reaches, or to
//	    names more than one: nothing was rolled back, on any cluster; the error names the
//	    cluster and what it lacks
//	503 the server has no ledger: rollbacks restore its snapshots
func (s *Server) rollbackApp(w http.ResponseWriter, r *http.Request) {
	if s.opts.Ledger == nil {
		writeError(w, http.StatusServiceUnavailable, "no ledger")
		return
	}
	req, err := RollbackQuery(r.PathValue("app"), r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	clusters, ok := s.clustersOf(w, req.App, req.Cluster)
	if !ok {
		return
	}
	for _, cluster := range clusters {
		_, _, err := s.opts.Ledger.RollbackTarget(r.Context(), req.App, cluster, req.To, req.Steps)
		var none *history.NoRevisionError
		switch {
		case errors.As(err, &none):
			writeError(w, http.StatusConflict, none.Error())
			return
		case err != nil:
			s.logger.Error("rollback: reading the ledger failed", "app", req.App, "cluster", cluster, "token", principalOf(r.Context()), "error", err)
			writeError(w, http.StatusInternalServerError, "the ledger could not be read")
			return
		}
	}
	req.TokenName = principalOf(r.Context())
	// The answer waits for health: lift the server's timeouts for this request (past its read
	// timeout, the request's context would end; past its write timeout, the answer is lost).
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	results, err := s.opts.Agent.Rollback(context.WithoutCancel(r.Context()), req)
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "app or cluster not found")
		return
	case err != nil:
		s.logger.Error("rollback failed", "app", req.App, "cluster", req.Cluster, "token", req.TokenName, "error", err)
		writeError(w, http.StatusInternalServerError, "rollback failed")
		return
	}
	if results == nil {
		results = []RollbackResult{}
	}
	for _, res := range results {
		s.logger.Info("rollback requested", "app", req.App, "cluster", res.Cluster, "to", req.To, "steps", req.Steps,
			"status", res.Status, "revision", res.Revision, "change", res.Change, "token", req.TokenName)
	}
	writeJSON(w, http.StatusOK, RollbackDone{App: req.App, Results: results})
}

// unpinApp answers POST /api/v1/apps/{app}/unpin?cluster=C: 200 UnpinDone with the clusters
// the App was pinned on, which follow Git again (a sync of each is queued); 400 for another
// parameter, 404 for an unknown App or a cluster it does not select, 409 when the App is not
// pinned on any of the clusters asked, 503 when the server has no ledger.
func (s *Server) unpinApp(w http.ResponseWriter, r *http.Request) {
	if s.opts.Ledger == nil {
		writeError(w, http.StatusServiceUnavailable, "no ledger")
		return
	}
	q := r.URL.Query()
	if err := onlyParams(q, unpinParams); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	req := UnpinRequest{App: r.PathValue("app"), Cluster: q.Get("cluster"), TokenName: principalOf(r.Context())}
	if _, ok := s.clustersOf(w, req.App, req.Cluster); !ok {
		return
	}
	clusters, err := s.opts.Agent.Unpin(r.Context(), req)
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "app or cluster not found")
		return
	case errors.Is(err, ErrNotPinned):
		where := "any cluster"
		if req.Cluster != "" {
			where = "cluster " + req.Cluster
		}
		writeError(w, http.StatusConflict, fmt.Sprintf("not pinned: App %s is not pinned on %s", req.App, where))
		return
	case err != nil:
		s.logger.Error("unpin failed", "app", req.App, "cluster", req.Cluster, "token", req.TokenName, "error", err)
		writeError(w, http.StatusInternalServerError, "unpin failed")
		return
	}
	s.logger.Info("unpin requested", "app", req.App, "cluster", req.Cluster, "clusters", clusters, "token", req.TokenName)
	writeJSON(w, http.StatusOK, UnpinDone{App: req.App, Clusters: clusters})
}

// clustersOf is the clusters of app a request is about: cluster, or every one the App selects
// when cluster is "". It answers 404 and returns false for an unknown App, or a cluster the
// App does not select.
func (s *Server) clustersOf(w http.ResponseWriter, app, cluster string) ([]string, bool) {
	status, ok := s.opts.Agent.App(app)
	if !ok {
		writeError(w, http.StatusNotFound, "app not found")
		return nil, false
	}
	var clusters []string
	for _, c := range status.Clusters {
		if cluster == "" || c.Cluster == cluster {
			clusters = append(clusters, c.Cluster)
		}
	}
	if len(clusters) == 0 {
		if cluster == "" {
			writeError(w, http.StatusNotFound, "the app selects no cluster")
		} else {
			writeError(w, http.StatusNotFound, "cluster not found for this app")
		}
		return nil, false
	}
	return clusters, true
}

// RollbackQuery reads a rollback's query (see rollbackApp): cluster, to (lowercased), steps,
// reason, and the flags forceConflicts and confirmPrune (as a sync's). Errors are *QueryError.
func RollbackQuery(app string, q url.Values) (RollbackRequest, error) {
	if err := onlyParams(q, rollbackParams); err != nil {
		return RollbackRequest{}, err
	}
	req := RollbackRequest{App: app, Cluster: q.Get("cluster"), To: strings.ToLower(strings.TrimSpace(q.Get("to"))), Reason: q.Get("reason")}
	_, hasTo := q["to"]
	steps, hasSteps := q["steps"]
	switch {
	case hasTo && hasSteps:
		return RollbackRequest{}, &QueryError{"steps", "give to or steps, not both"}
	case !hasTo && !hasSteps:
		return RollbackRequest{}, &QueryError{"to", "missing: give to=REVISION (a commit, or its first digits) or steps=N (revisions back from the one applied now)"}
	case hasTo && !isCommitPrefix(req.To):
		return RollbackRequest{}, &QueryError{"to", fmt.Sprintf("%q is not a commit: want 4 to 64 hex digits", q.Get("to"))}
	case hasSteps:
		n, err := strconv.Atoi(steps[0])
		if err != nil || n < 1 {
			return RollbackRequest{}, &QueryError{"steps", fmt.Sprintf("%q is not a whole number from 1", steps[0])}
		}
		req.Steps = n
	}
	for name, flag := range map[string]*bool{"forceConflicts": &req.ForceConflicts, "confirmPrune": &req.ConfirmPrune} {
		if v, ok := q[name]; ok {
			b, err := strconv.ParseBool(v[0])
			if v[0] == "" {
				b, err = true, nil
			}
			if err != nil {
				return RollbackRequest{}, &QueryError{name, "want true or false"}
			}
			*flag = b
		}
	}
	if len(req.Reason) > MaxReasonLength {
		return RollbackRequest{}, &QueryError{"reason", fmt.Sprintf("%d bytes long; at most %d", len(req.Reason), MaxReasonLength)}
	}
	return req, nil
}

// onlyParams refuses a query with a parameter that is not one of params, or one given twice, so
// that a misspelt one is not silently dropped. Errors are *QueryError.
func onlyParams(q url.Values, params []string) error {
	for key, values := range q {
		if !slices.Contains(params, key) {
			return &QueryError{key, "unknown; want one of " + strings.Join(params, ", ")}
		}
		if len(values) != 1 {
			return &QueryError{key, fmt.Sprintf("given %d times", len(values))}
		}
	}
	return nil
}

// isCommitPrefix reports whether s is 4 to 64 lowercase hex digits.
func isCommitPrefix(s string) bool {
	if len(s) < 4 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
