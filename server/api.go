package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// appList is the body of GET /api/v1/apps.
type appList struct {
	Apps []AppStatus `json:"apps"`
	// ConfigError says the last configuration reload was refused, and why.
	ConfigError string `json:"configError,omitempty"`
}

// listApps answers GET /api/v1/apps: {"apps": [...]}, sorted by name.
func (s *Server) listApps(w http.ResponseWriter, r *http.Request) {
	apps := s.opts.Agent.Apps()
	if apps == nil {
		apps = []AppStatus{}
	}
	writeJSON(w, http.StatusOK, appList{Apps: apps, ConfigError: s.opts.Agent.ConfigError()})
}

// getApp answers GET /api/v1/apps/{app}: the App's status, or 404.
func (s *Server) getApp(w http.ResponseWriter, r *http.Request) {
	app, ok := s.opts.Agent.App(r.PathValue("app"))
	if !ok {
		writeError(w, http.StatusNotFound, "app not found")
		return
	}
	if app.Clusters == nil {
		app.Clusters = []ClusterStatus{}
	}
	writeJSON(w, http.StatusOK, app)
}

// syncApp answers POST /api/v1/apps/{app}/sync?cluster=C&forceConflicts&confirmPrune&dryRun&overrideWindow:
// 202 with what was queued, 400 for a query it does not understand, 404 for an unknown App or a
// cluster the App does not select.
func (s *Server) syncApp(w http.ResponseWriter, r *http.Request) {
	req, err := syncRequest(r.PathValue("app"), r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	app, ok := s.opts.Agent.App(req.App)
	if !ok {
		writeError(w, http.StatusNotFound, "app not found")
		return
	}
	if req.Cluster != "" && !slices.ContainsFunc(app.Clusters, func(c ClusterStatus) bool { return c.Cluster == req.Cluster }) {
		writeError(w, http.StatusNotFound, "cluster not found for this app")
		return
	}
	req.TokenName = principalOf(r.Context())
	accepted, err := s.opts.Agent.Sync(r.Context(), req)
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "app or cluster not found")
		return
	case err != nil:
		s.logger.Error("sync request failed", "app", req.App, "cluster", req.Cluster, "token", principalOf(r.Context()), "error", err)
		writeError(w, http.StatusInternalServerError, "sync could not be queued")
		return
	}
	if accepted.Clusters == nil {
		accepted.Clusters = []string{}
	}
	s.logger.Info("sync requested", "app", req.App, "cluster", req.Cluster, "clusters", accepted.Clusters,
		"forceConflicts", req.ForceConflicts, "confirmPrune", req.ConfirmPrune, "dryRun", req.DryRun, "overrideWindow", req.OverrideWindow, "token", principalOf(r.Context()))
	writeJSON(w, http.StatusAccepted, accepted)
}

// syncRequest reads a sync request's query: cluster, and the flags forceConflicts, confirmPrune
// and dryRun (true when given without a value, or as any value strconv.ParseBool reads). Any
// other parameter is refused, so that a misspelt option is not silently dropped.
func syncRequest(app string, q url.Values) (SyncRequest, error) {
	req := SyncRequest{App: app}
	flags := map[string]*bool{"forceConflicts": &req.ForceConflicts, "confirmPrune": &req.ConfirmPrune, "dryRun": &req.DryRun, "overrideWindow": &req.OverrideWindow}
	for key, values := range q {
		if len(values) != 1 {
			return SyncRequest{}, fmt.Errorf("query parameter %s given %d times", key, len(values))
		}
		if key == "cluster" {
			req.Cluster = values[0]
			continue
		}
		flag, ok := flags[key]
		if !ok {
			return SyncRequest{}, fmt.Errorf("unknown query parameter %q: want cluster, forceConflicts, confirmPrune, dryRun or overrideWindow", key)
		}
		if values[0] == "" {
			*flag = true
			continue
		}
		v, err := strconv.ParseBool(values[0])
		if err != nil {
			return SyncRequest{}, fmt.Errorf("query parameter %s: want true or false", key)
		}
		*flag = v
	}
	return req, nil
}

// refreshAccepted is the body of a 202 to a refresh.
type refreshAccepted struct {
	Source string `json:"source"`
}

// refreshSource answers POST /api/v1/sources/{source}/refresh: 202 once a fetch is queued, 404
// for an unknown Source.
func (s *Server) refreshSource(w http.ResponseWriter, r *http.Request) {
	source := r.PathValue("source")
	err := s.opts.Agent.Refresh(r.Context(), source)
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "source not found")
		return
	case err != nil:
		s.logger.Error("refresh request failed", "source", source, "token", principalOf(r.Context()), "error", err)
		writeError(w, http.StatusInternalServerError, "refresh could not be queued")
		return
	}
	s.logger.Info("refresh requested", "source", source, "token", principalOf(r.Context()))
	writeJSON(w, http.StatusAccepted, refreshAccepted{Source: source})
}
