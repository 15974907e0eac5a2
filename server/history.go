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

// Ledger is what the server reads from the change ledger. The server owns this interface;
// *history.Ledger implements it. Its methods must be safe for concurrent use.
type Ledger interface {
	// List returns the changes f selects, newest first.
	List(ctx context.Context, f history.Filter) ([]history.Change, error)
	// Get returns one change; an error wrapping history.ErrNotFound when there is none.
	Get(ctx context.Context, id int64) (*history.Change, error)
	// RollbackTarget is the change a rollback would restore (see history.Ledger); a
	// *history.NoRevisionError when there is none.
	RollbackTarget(ctx context.Context, app, cluster, to string, steps int) (target, current *history.Change, err error)
}

// MaxHistoryLimit is the most changes one history query returns; `flotilla audit export`
// reads the whole ledger.
const MaxHistoryLimit = 10000

// historyParams are the query parameters of GET /api/v1/history, in the order errors list them.
var historyParams = []string{"app", "cluster", "since", "until", "author", "revision", "trigger", "limit"}

// QueryError is a query parameter the server cannot use: Param names it, Problem says why.
type QueryError struct {
	Param, Problem string
}

func (e *QueryError) Error() string { return "query parameter " + e.Param + ": " + e.Problem }

// HistoryFilter reads a history query (see the package doc) into a filter: app, cluster,
// author and revision as given; since and until as RFC 3339 times or as durations before now
// (24h, 90m, 7d); trigger one of history.Triggers; limit from 1 to MaxHistoryLimit (100 when
// left out). Another parameter, or one given twice, is refused, so that a misspelt one is not
// silently dropped. Errors are *QueryError.
func HistoryFilter(q url.Values, now time.Time) (history.Filter, error) {
	var f history.Filter
	for key, values := range q {
		if !slices.Contains(historyParams, key) {
			return history.Filter{}, &QueryError{key, "unknown; want one of " + strings.Join(historyParams, ", ")}
		}
		if len(values) != 1 {
			return history.Filter{}, &QueryError{key, fmt.Sprintf("given %d times", len(values))}
		}
	}
	f.App, f.Cluster, f.Author, f.Revision = q.Get("app"), q.Get("cluster"), q.Get("author"), q.Get("revision")
	var err error
	if f.Since, err = timeParam(q, "since", now); err != nil {
		return history.Filter{}, err
	}
	if f.Until, err = timeParam(q, "until", now); err != nil {
		return history.Filter{}, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Since.After(f.Until) {
		return history.Filter{}, &QueryError{"since", fmt.Sprintf("%s is after until (%s)", f.Since.Format(time.RFC3339), f.Until.Format(time.RFC3339))}
	}
	if t := q.Get("trigger"); t != "" {
		if !slices.Contains(history.Triggers, history.Trigger(t)) {
			names := make([]string, len(history.Triggers))
			for i, t := range history.Triggers {
				names[i] = string(t)
			}
			return history.Filter{}, &QueryError{"trigger", fmt.Sprintf("%q is not a trigger; want one of %s", t, strings.Join(names, ", "))}
		}
		f.Trigger = history.Trigger(t)
	}
	if l, ok := q["limit"]; ok {
		n, err := strconv.Atoi(l[0])
		if err != nil || n < 1 || n > MaxHistoryLimit {
			return history.Filter{}, &QueryError{"limit", fmt.Sprintf("%q is not a number from 1 to %d", l[0], MaxHistoryLimit)}
		}
		f.Limit = n
	}
	return f, nil
}

// timeParam reads a time parameter: an RFC 3339 time, or a duration before now ("24h", "7d").
// A missing or empty one is the zero time.
func timeParam(q url.Values, name string, now time.Time) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if d, ok := durationAgo(v); ok {
		return now.Add(-d), nil
	}
	return time.Time{}, &QueryError{name, fmt.Sprintf("%q is neither an RFC 3339 time (2026-03-01T12:00:00Z) nor a duration before now (90m, 24h, 7d)", v)}
}

// durationAgo reads a Go duration ("1h30m") or a number of days ("7d"), not negative.
func durationAgo(v string) (time.Duration, bool) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100*365 {
			return 0, false
		}
		return time.Duration(n) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(v)
	return d, err == nil && d >= 0
}

// listHistory answers GET /api/v1/history?…: the changes the query selects, newest first, as a
// JSON list; 400 for a query it cannot use, 503 when the server has no ledger.
func (s *Server) listHistory(w http.ResponseWriter, r *http.Request) {
	if s.opts.Ledger == nil {
		writeError(w, http.StatusServiceUnavailable, "no ledger")
		return
	}
	f, err := HistoryFilter(r.URL.Query(), time.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	changes, err := s.opts.Ledger.List(r.Context(), f)
	if err != nil {
		s.logger.Error("history query failed", "query", r.URL.RawQuery, "token", principalOf(r.Context()), "error", err)
		writeError(w, http.StatusInternalServerError, "history could not be read")
		return
	}
	if changes == nil {
		changes = []history.Change{}
	}
	writeJSON(w, http.StatusOK, changes)
}

// getHistory answers GET /api/v1/history/{id}: one change, 404 when the ledger has none of that
// ID, 400 for an ID that is not a positive number.
func (s *Server) getHistory(w http.ResponseWriter, r *http.Request) {
	if s.opts.Ledger == nil {
		writeError(w, http.StatusServiceUnavailable, "no ledger")
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		writeError(w, http.StatusBadRequest, "change ID: want a positive number")
		return
	}
	change, err := s.opts.Ledger.Get(r.Context(), id)
	switch {
	case errors.Is(err, history.ErrNotFound):
		writeError(w, http.StatusNotFound, "change not found")
		return
	case err != nil:
		s.logger.Error("history read failed", "change", id, "token", principalOf(r.Context()), "error", err)
		writeError(w, http.StatusInternalServerError, "history could not be read")
		return
	}
	writeJSON(w, http.StatusOK, change)
}
