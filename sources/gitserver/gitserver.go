package gitserver

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// Options configure a Server.
type Options struct {
	// Root is the folder holding the repositories: Root/NAME.git is served as URL/NAME.git.
	Root string
	// Username and Password, if set, require HTTP basic auth.
	Username, Password string
	// Token, if set, requires "Authorization: Bearer TOKEN" (or basic auth with it as password).
	Token string
	// AllowPush enables git push over HTTP.
	AllowPush bool
}

// Server is a running Git smart-HTTP server.
type Server struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:41234.
	URL string

	srv         *http.Server
	sent        atomic.Int64
	requests    atomic.Int64
	uploadPacks atomic.Int64
}

// Start serves opts.Root on a free port of 127.0.0.1.
func Start(opts Options) (*Server, error) {
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return nil, fmt.Errorf("find git's exec path (is git installed?): %w", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend")
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, err
	}
	env := []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}
	if opts.AllowPush {
		env = append(env, "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.receivepack", "GIT_CONFIG_VALUE_0=true")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	s := &Server{URL: "http://" + ln.Addr().String()}
	handler := &cgi.Handler{Path: backend, Root: "/", Env: env}
	s.srv = &http.Server{
		Handler:           s.count(authenticate(opts, handler)),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// RepoURL is the URL of Root/NAME.git.
func (s *Server) RepoURL(name string) string { return s.URL + "/" + name + ".git" }

// BytesSent is how many response bytes the server has written so far.
func (s *Server) BytesSent() int64 { return s.sent.Load() }

// Requests is how many requests the server has answered so far.
func (s *Server) Requests() int64 { return s.requests.Load() }

// UploadPacks is how many pack downloads (POST …/git-upload-pack) the server has answered. A poll
// that finds nothing new makes none.
func (s *Server) UploadPacks() int64 { return s.uploadPacks.Load() }

// Close stops the server.
func (s *Server) Close() error {
	if err := s.srv.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *Server) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack") {
			s.uploadPacks.Add(1)
		}
		next.ServeHTTP(&countingWriter{ResponseWriter: w, n: &s.sent}, r)
	})
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func authenticate(opts Options, next http.Handler) http.Handler {
	if opts.Username == "" && opts.Token == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if allowed(opts, r) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="flotilla-gitserver"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
	})
}

func allowed(opts Options, r *http.Request) bool {
	equal := func(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
	if opts.Token != "" {
		if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && equal(bearer, opts.Token) {
			return true
		}
		if _, password, ok := r.BasicAuth(); ok && equal(password, opts.Token) {
			return true
		}
	}
	if opts.Username != "" {
		user, password, ok := r.BasicAuth()
		return ok && equal(user, opts.Username) && equal(password, opts.Password)
	}
	return false
}
