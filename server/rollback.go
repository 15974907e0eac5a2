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
	rollbackParams = []string{"cluster", "to", "steps", "reason"}
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
		_, err := RollbackTarget(r.Context(), s.opts.Ledger, req.App, cluster, req.To, req.Steps)
		var none *NoRevisionError
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
// reason. Errors are *QueryError.
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

// NoRevisionError says that a cluster's ledger holds no revision a rollback can go back to. Its
// message is written from the request and the ledger's commits, fit for an answer.
type NoRevisionError struct {
	App, Cluster string
	// Problem says what the ledger lacks.
	Problem string
}

func (e *NoRevisionError) Error() string {
	return fmt.Sprintf("App %s on cluster %s: %s", e.App, e.Cluster, e.Problem)
}

// RollbackTarget is the change a rollback of app on cluster restores, picked as
// reconciler.Syncer.Rollback picks it: among the pair's changes that applied a revision whole
// and kept its snapshot, newest first, with a run of changes of the same render counted once,
// the newest whose commit starts with to, or (to "") the one steps revisions before the
// newest. When there is none, or to names more than one commit, the error is a
// *NoRevisionError: the rollback would fail.
func RollbackTarget(ctx context.Context, ledger Ledger, app, cluster, to string, steps int) (*history.Change, error) {
	changes, err := ledger.List(ctx, history.Filter{App: app, Cluster: cluster, Limit: 1000})
	if err != nil {
		return nil, err
	}
	var applied []*history.Change // newest first, one per run of the same render
	for i := range changes {
		c := &changes[i]
		if c.Snapshot == "" || !slices.Contains(history.Applied, c.Result) {
			continue
		}
		if len(applied) > 0 && applied[len(applied)-1].Digest == c.Digest {
			continue
		}
		applied = append(applied, c)
	}
	none := func(format string, args ...any) error {
		return &NoRevisionError{App: app, Cluster: cluster, Problem: fmt.Sprintf(format, args...)}
	}
	if len(applied) == 0 {
		return nil, none("the ledger holds no applied revision to roll back to")
	}
	if to != "" {
		to = strings.ToLower(to)
		var match *history.Change
		for _, c := range applied {
			if !strings.HasPrefix(c.Revision.Commit, to) {
				continue
			}
			if match == nil {
				match = c
			} else if match.Revision.Commit != c.Revision.Commit {
				return nil, none("%s names more than one applied revision (%s, %s): give more digits", to, match.Revision.Commit, c.Revision.Commit)
			}
		}
		if match == nil {
			return nil, none("the ledger holds no applied revision %s (flotilla history --app %s --cluster %s lists them)", to, app, cluster)
		}
		return match, nil
	}
	if steps < 1 {
		return nil, none("say where to roll back to: a revision or a number of steps")
	}
	if steps >= len(applied) {
		return nil, none("the ledger holds %s before the current one, not %d", revisions(len(applied)-1), steps)
	}
	return applied[steps], nil
}

// revisions is "1 revision", "2 revisions", "no revision".
func revisions(n int) string {
	switch n {
	case 0:
		return "no revision"
	case 1:
		return "1 revision"
	}
	return strconv.Itoa(n) + " revisions"
}
