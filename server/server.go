package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/flotilla-dev/flotilla/sources/webhook"
)

// DefaultListen is the address the server listens on unless told otherwise: loopback only.
const DefaultListen = "127.0.0.1:7070"

// DefaultShutdownGrace is how long Serve lets requests in flight finish once its context ends.
const DefaultShutdownGrace = 10 * time.Second

// Options configure a Server.
type Options struct {
	// Listen is the TCP address ListenAndServe listens on; DefaultListen when empty.
	Listen string
	// Agent answers the API and takes the syncs, refreshes and pushes it asks for. Required.
	Agent Agent
	// Ledger answers the history routes; without one they answer 503.
	Ledger Ledger
	// Tokens are the bearer tokens the API accepts (LoadTokens, EnsureLocalToken). Without any,
	// every API request gets 401.
	Tokens []Token
	// WebhookSecrets holds each provider's secret, used as given (trim a file's trailing
	// newline first); a provider without one answers 404 to every request.
	WebhookSecrets map[webhook.Provider][]byte
	// TLSCertFile and TLSKeyFile, both or neither, make the server speak HTTPS only. They are
	// read once, by New.
	TLSCertFile, TLSKeyFile string
	// AllowInsecureNonLoopback lets the server listen on an address that is not loopback
	// without TLS. Without it such a listen is refused.
	AllowInsecureNonLoopback bool
	// PublicMetrics serves /metrics to every client; without it, only to loopback clients.
	PublicMetrics bool
	// ShutdownGrace is how long requests in flight may take once Serve's context ends;
	// DefaultShutdownGrace when zero.
	ShutdownGrace time.Duration
	// Logger receives the server's logs; slog.Default() when nil.
	Logger *slog.Logger
	// Metrics are served at /metrics and count webhook requests; NewMetrics() when nil.
	Metrics *Metrics
}

// Server is the agent's HTTP side: the status API, webhook receivers, metrics and health.
type Server struct {
	opts    Options
	logger  *slog.Logger
	metrics *Metrics
	tokens  *tokenSet
	tls     *tls.Config
	handler http.Handler
}

// New checks opts and makes a Server. It refuses a Listen address that is not loopback unless
// TLS is configured or AllowInsecureNonLoopback is set.
func New(opts Options) (*Server, error) {
	if opts.Agent == nil {
		return nil, errors.New("server: no Agent")
	}
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = DefaultShutdownGrace
	}
	s := &Server{opts: opts, logger: opts.Logger, metrics: opts.Metrics}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	tokens, err := newTokenSet(opts.Tokens)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.tokens = tokens
	if len(opts.Tokens) == 0 {
		s.logger.Warn("no API tokens: every API request will be refused")
	}
	if s.tls, err = loadTLS(opts.TLSCertFile, opts.TLSKeyFile); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if err := s.checkAddr(opts.Listen); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.handler = s.recoverPanics(s.routes())
	return s, nil
}

// loadTLS reads a certificate and its key, or returns nil when neither is given.
func loadTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, errors.New("TLS needs both a certificate file and a key file")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate: %w", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, nil
}

// checkAddr refuses a listen address that is not loopback when the server has no TLS and may
// not listen insecurely. Only an IP literal or "localhost" counts as loopback: a host name is
// not looked up, and an empty host means every interface.
func (s *Server) checkAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if s.tls != nil || s.opts.AllowInsecureNonLoopback || isLoopbackHost(host) {
		return nil
	}
	return fmt.Errorf("refusing to listen on %s without TLS: it is not a loopback address; give a TLS certificate and key, or allow insecure listening explicitly", addr)
}

// isLoopbackHost reports whether host is "localhost" or a loopback IP.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkListener refuses a listener on a TCP address that is not loopback, as checkAddr does.
// Other listeners (a Unix socket) are local.
func (s *Server) checkListener(l net.Listener) error {
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok || s.tls != nil || s.opts.AllowInsecureNonLoopback || addr.IP.IsLoopback() {
		return nil
	}
	return fmt.Errorf("refusing to serve on %s without TLS: it is not a loopback address; give a TLS certificate and key, or allow insecure listening explicitly", addr)
}

// Handler is the server's routes, for tests and for a caller that serves them itself (without
// Serve's listen checks).
func (s *Server) Handler() http.Handler { return s.handler }

// ListenAndServe listens on Options.Listen and serves until ctx ends (see Serve).
func (s *Server) ListenAndServe(ctx context.Context) error {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("server: listen: %w", err)
	}
	return s.Serve(ctx, l)
}

// Serve serves on l (and closes it) until ctx ends, then shuts down gracefully: it stops
// accepting connections and lets requests in flight finish within the shutdown grace, after
// which it closes the rest. It returns nil after a shutdown that ctx asked for.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	if err := s.checkListener(l); err != nil {
		l.Close()
		return fmt.Errorf("server: %w", err)
	}
	srv := &http.Server{
		Handler:           s.handler,
		TLSConfig:         s.tls,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	s.logger.Info("serving", "address", l.Addr().String(), "tls", s.tls != nil)
	errc := make(chan error, 1)
	go func() {
		if s.tls != nil {
			errc <- srv.ServeTLS(l, "", "")
			return
		}
		errc <- srv.Serve(l)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("server: serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownGrace)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if err != nil {
		srv.Close()
		err = fmt.Errorf("server: shutdown: %w", err)
	}
	<-errc
	s.logger.Info("stopped serving", "address", l.Addr().String())
	return err
}
