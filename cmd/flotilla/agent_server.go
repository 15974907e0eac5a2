package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/internal/statedir"
	"github.com/flotilla-dev/flotilla/reconciler"
	"github.com/flotilla-dev/flotilla/server"
	"github.com/flotilla-dev/flotilla/sources/webhook"
)

// agentServer is the agent's HTTP side and where the local CLI finds it.
type agentServer struct {
	server   *server.Server
	listener net.Listener
	stateDir string
	url      string
	agent    *reconciler.Agent
	metrics  *server.Metrics
}

// agentEndpoint is STATE/agent.json: where the agent a local CLI should ask listens.
type agentEndpoint struct {
	URL string `json:"url"`
	PID int    `json:"pid"`
}

const endpointFile = "agent.json"

// newAgentServer makes the server of f's --listen (nil for "off"), with the local operator
// token from the state folder, --token-file's tokens, the webhook secrets and the change
// ledger the history routes read.
func newAgentServer(f agentFlags, agent *reconciler.Agent, ledger *history.Ledger, metrics *server.Metrics, logger *slog.Logger) (*agentServer, error) {
	if f.listen == "" || f.listen == "off" {
		return nil, nil
	}
	stateDir, err := agentStateDir(f.state)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state folder: %w", err)
	}
	local, err := server.EnsureLocalToken(stateDir)
	if err != nil {
		return nil, err
	}
	tokens := []server.Token{{Role: server.RoleOperator, Name: server.LocalTokenName, Secret: local}}
	if f.tokenFile != "" {
		more, err := server.LoadTokens(f.tokenFile)
		if err != nil {
			return nil, err
		}
		tokens = append(tokens, more...)
	}
	secrets, err := webhookSecrets(f.webhookSecrets)
	if err != nil {
		return nil, err
	}
	srv, err := server.New(server.Options{
		Listen: f.listen, Agent: server.ReconcilerAgent(agent), Ledger: ledger, Tokens: tokens, WebhookSecrets: secrets,
		TLSCertFile: f.tlsCert, TLSKeyFile: f.tlsKey, AllowInsecureNonLoopback: f.insecure,
		PublicMetrics: f.publicMetrics, Logger: logger, Metrics: metrics,
	})
	if err != nil {
		return nil, err
	}
	listener, err := net.Listen("tcp", f.listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %s: %w", f.listen, err)
	}
	scheme := "http"
	if f.tlsCert != "" {
		scheme = "https"
	}
	return &agentServer{server: srv, listener: listener, stateDir: stateDir, agent: agent, metrics: metrics,
		url: scheme + "://" + listener.Addr().String()}, nil
}

// serve answers until ctx ends, with STATE/agent.json saying where meanwhile.
func (s *agentServer) serve(ctx context.Context) error {
	endpoint, err := json.Marshal(agentEndpoint{URL: s.url, PID: os.Getpid()})
	if err != nil {
		return err
	}
	path := filepath.Join(s.stateDir, endpointFile)
	if err := os.WriteFile(path, endpoint, 0o600); err != nil {
		return fmt.Errorf("state folder: %w", err)
	}
	defer os.Remove(path)
	go s.reportQueueDepth(ctx)
	return s.server.Serve(ctx, s.listener)
}

// reportQueueDepth keeps the queue-depth and managed-objects gauges current.
func (s *agentServer) reportQueueDepth(ctx context.Context) {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			s.metrics.SetQueueDepth(s.agent.QueueDepth())
			for cluster, n := range s.agent.ManagedObjects() {
				s.metrics.SetManagedObjects(cluster, n)
			}
		}
	}
}

// webhookSecrets reads each provider's secret: from --webhook-secret-file PROVIDER=FILE, else
// from $FLOTILLA_WEBHOOK_SECRET_<PROVIDER>; a file's trailing newline is not part of it.
func webhookSecrets(files map[string]string) (map[webhook.Provider][]byte, error) {
	secrets := map[webhook.Provider][]byte{}
	for name, file := range files {
		p := webhook.Provider(name)
		if !p.Valid() {
			return nil, fmt.Errorf("--webhook-secret-file %s=…: %q is not a provider: use github, gitlab, gitea or generic", name, name)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--webhook-secret-file %s: %w", name, err)
		}
		if secret := strings.TrimRight(string(b), "\r\n"); secret != "" {
			secrets[p] = []byte(secret)
		}
	}
	for _, p := range webhook.Providers {
		if _, ok := secrets[p]; ok {
			continue
		}
		if v := os.Getenv("FLOTILLA_WEBHOOK_SECRET_" + strings.ToUpper(string(p))); v != "" {
			secrets[p] = []byte(v)
		}
	}
	return secrets, nil
}

// agentStateDir is --state, or flotilla/agent under the user's state directory.
func agentStateDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	return statedir.Path("agent")
}
