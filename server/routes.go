package server

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/flotilla-dev/flotilla/sources/webhook"
)

// route is one method and path pattern the server answers.
type route struct {
	method, path string
	handler      http.HandlerFunc
}

// routes is the server's mux: every route of the package doc, a JSON 405 (with Allow) for
// another method on a known path, and a JSON 404 for any other path.
func (s *Server) routes() http.Handler {
	table := []route{
		{http.MethodGet, "/api/v1/apps", s.authorize(RoleViewer, s.listApps)},
		{http.MethodGet, "/api/v1/apps/{app}", s.authorize(RoleViewer, s.getApp)},
		{http.MethodPost, "/api/v1/apps/{app}/sync", s.authorize(RoleOperator, s.syncApp)},
		{http.MethodPost, "/api/v1/apps/{app}/rollback", s.authorize(RoleOperator, s.rollbackApp)},
		{http.MethodPost, "/api/v1/apps/{app}/unpin", s.authorize(RoleOperator, s.unpinApp)},
		{http.MethodGet, "/api/v1/apps/{app}/rollout", s.authorize(RoleViewer, s.rollout(""))},
		{http.MethodPost, "/api/v1/apps/{app}/rollout/promote", s.authorize(RoleOperator, s.rollout("promote"))},
		{http.MethodPost, "/api/v1/apps/{app}/rollout/abort", s.authorize(RoleOperator, s.rollout("abort"))},
		{http.MethodPost, "/api/v1/apps/{app}/rollout/resume", s.authorize(RoleOperator, s.rollout("resume"))},
		{http.MethodPost, "/api/v1/sources/{source}/refresh", s.authorize(RoleOperator, s.refreshSource)},
		{http.MethodGet, "/api/v1/history", s.authorize(RoleViewer, s.listHistory)},
		{http.MethodGet, "/api/v1/history/{id}", s.authorize(RoleViewer, s.getHistory)},
		{http.MethodGet, "/metrics", s.serveMetrics},
		{http.MethodGet, "/healthz", s.healthz},
		{http.MethodGet, "/readyz", s.readyz},
	}
	for _, p := range []webhook.Provider{webhook.GitHub, webhook.GitLab, webhook.Gitea, webhook.Generic} {
		table = append(table, route{http.MethodPost, "/hooks/" + string(p), s.hook(p)})
	}
	mux := http.NewServeMux()
	allowed := map[string][]string{}
	var paths []string
	for _, rt := range table {
		mux.HandleFunc(rt.method+" "+rt.path, rt.handler)
		if allowed[rt.path] == nil {
			paths = append(paths, rt.path)
		}
		allowed[rt.path] = append(allowed[rt.path], rt.method)
		if rt.method == http.MethodGet {
			allowed[rt.path] = append(allowed[rt.path], http.MethodHead)
		}
	}
	for _, path := range paths {
		mux.HandleFunc(path, methodNotAllowed(allowed[path]))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not found")
	})
	return mux
}

// methodNotAllowed answers 405 naming the methods a path allows.
func methodNotAllowed(methods []string) http.HandlerFunc {
	allow := strings.Join(methods, ", ")
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

// recoverPanics turns a handler's panic into a 500 with no detail; the panic and its stack go to
// the log only.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.logger.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			writeError(w, http.StatusInternalServerError, "internal error")
		}()
		next.ServeHTTP(w, r)
	})
}

// errorBody is the body of every error answer.
type errorBody struct {
	Error string `json:"error"`
}

// writeError answers status with {"error": message}. message is written by the server itself,
// never an error's text, so that no internals leak.
func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, errorBody{Error: message})
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// healthz answers 200 while the server serves.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 once the agent is ready (every cluster listed once), 503 before.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if !s.opts.Agent.Ready() {
		writeError(w, http.StatusServiceUnavailable, "not ready")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// serveMetrics serves the metrics, to loopback clients only unless PublicMetrics is set.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if !s.opts.PublicMetrics && !fromLoopback(r) {
		writeError(w, http.StatusForbidden, "forbidden")
		return
	}
	s.metrics.Handler().ServeHTTP(w, r)
}

// fromLoopback reports whether r came from a loopback address.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// principalKey is the context key of the request's principal.
type principalKey struct{}

// withPrincipal records who made a request.
func withPrincipal(ctx context.Context, p principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// principalOf is who made a request, "" when unknown.
func principalOf(ctx context.Context) string {
	p, _ := ctx.Value(principalKey{}).(principal)
	return p.name
}
