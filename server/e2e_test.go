package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/clusters/localfleet"
	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/reconciler"
	"github.com/flotilla-dev/flotilla/server"
	"github.com/flotilla-dev/flotilla/sources/gitserver"
	"github.com/flotilla-dev/flotilla/sources/gittest"
	"github.com/flotilla-dev/flotilla/sources/webhook"
)

var shared = fleettest.Shared{Options: localfleet.Options{Clusters: 3, NamePrefix: "server"}}

func TestMain(m *testing.M) { os.Exit(shared.Main(m)) }

// TestWebhookPushConvergesEveryCluster: a commit pushed to a Git server over HTTP and announced
// by a signed GitHub webhook is applied on every cluster; a push of another repository or
// another branch is answered 202 with no Source and fetches nothing.
func TestWebhookPushConvergesEveryCluster(t *testing.T) {
	fleet := shared.Fleet(t)
	ns := fleettest.Namespace(t, fleet.Clusters...)
	root := t.TempDir()
	repo := gittest.NewRepo(t, root, "fleet")
	write := func(value string) string {
		repo.Write(map[string]string{
			"app/kustomization.yaml": "namespace: " + ns + "\nresources: [cm.yaml]\n",
			"app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {value: \"" + value + "\"}\n",
		})
		return repo.Commit("value " + value)
	}
	write("1")
	git, err := gitserver.Start(gitserver.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { git.Close() })

	cfg := &config.Config{Sources: []config.Source{{Metadata: config.ObjectMeta{Name: "fleet"},
		Spec: config.SourceSpec{URL: git.URL + "/fleet.git", Ref: config.GitRef{Branch: "main"}, Interval: config.Duration{Duration: time.Hour}}}}}
	for i, c := range fleet.Clusters {
		cfg.Clusters = append(cfg.Clusters, config.Cluster{Metadata: config.ObjectMeta{Name: fmt.Sprintf("c%d", i)},
			Spec: config.ClusterSpec{Kubeconfig: fleet.Kubeconfig, Context: c.Name}})
	}
	cfg.Apps = []config.App{{Metadata: config.ObjectMeta{Name: ns}, Spec: config.AppSpec{Source: "fleet", Path: "app", Sync: config.SyncPolicy{Automated: true}}}}

	var fetches atomic.Int64
	opts := reconciler.DefaultAgentOptions()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.Observer = reconciler.ObserverFunc(func(e reconciler.Event) {
		if e.Stage == reconciler.StageFetch && e.App == "" && bytes.HasPrefix([]byte(e.Message), []byte("fetching")) {
			fetches.Add(1)
		}
	})
	agent := reconciler.NewAgent(reconciler.NewSyncer(t.TempDir()), cfg, opts)
	secret := []byte("a-webhook-secret-for-tests")
	srv, err := server.New(server.Options{Agent: server.ReconcilerAgent(agent), WebhookSecrets: map[webhook.Provider][]byte{webhook.GitHub: secret},
		Logger: opts.Logger})
	if err != nil {
		t.Fatal(err)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = agent.Run(ctx) })
	wg.Go(func() { _ = srv.Serve(ctx, listener) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	base := "http://" + listener.Addr().String()

	applied := func(commit string) func() bool {
		return func() bool {
			st := agent.Status()
			for _, s := range st {
				if s.AppliedRevision != commit {
					return false
				}
			}
			return len(st) == 3
		}
	}
	waitUntil(t, time.Minute, applied(repo.Git("rev-parse", "HEAD")), agent)

	push := func(repository, ref string) []string {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"ref": ref, "after": repo.Git("rev-parse", "HEAD"),
			"repository": map[string]any{"clone_url": repository, "html_url": repository}})
		req, _ := http.NewRequest(http.MethodPost, base+"/hooks/github", bytes.NewReader(body))
		for k, v := range webhook.Sign(webhook.GitHub, body, secret) {
			req.Header[k] = v
		}
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("Content-Type", "application/json")
		resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var answer struct{ Sources []string }
		if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("webhook: %s, %v", resp.Status, err)
		}
		return answer.Sources
	}

	before := fetches.Load()
	if got := push(git.URL+"/other.git", "refs/heads/main"); len(got) != 0 {
		t.Errorf("a push of another repository queued %v", got)
	}
	if got := push(git.URL+"/fleet.git", "refs/heads/dev"); len(got) != 0 {
		t.Errorf("a push of another branch queued %v", got)
	}
	commit := write("2")
	started := time.Now()
	if got := push(git.URL+"/fleet", "refs/heads/main"); len(got) != 1 || got[0] != "fleet" {
		t.Fatalf("the push queued %v, want [fleet]", got)
	}
	waitUntil(t, 30*time.Second, applied(commit), agent)
	t.Logf("push to applied on 3 clusters: %s", time.Since(started).Round(time.Millisecond))
	if n := fetches.Load() - before; n != 1 {
		t.Errorf("%d fetches after three pushes, want 1: only the push of the Source's repository and branch fetches", n)
	}
	for _, c := range fleet.Clusters {
		if v := fleettest.Kubectl(t, c, "-n", ns, "get", "configmap/a", "-o", "jsonpath={.data.value}"); v != "2" {
			t.Errorf("%s: value %q, want 2", c.Name, v)
		}
	}
}

func waitUntil(t *testing.T, within time.Duration, cond func() bool, agent *reconciler.Agent) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %+v", within, agent.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// switchableProxy forwards TCP connections to a target until stopped; started again, it listens
// on the same address: a Git server that goes away and comes back.
type switchableProxy struct {
	addr, target string
	mu           sync.Mutex
	listener     net.Listener
	conns        []net.Conn
}

func (p *switchableProxy) start(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.listener, p.addr = l, l.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, conn)
			p.mu.Unlock()
			go func() {
				defer conn.Close()
				up, err := net.Dial("tcp", p.target)
				if err != nil {
					return
				}
				defer up.Close()
				go func() { _, _ = io.Copy(up, conn) }()
				_, _ = io.Copy(conn, up)
			}()
		}
	}()
}

// stop closes the listener and every connection: the server is gone.
func (p *switchableProxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.listener.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestGitServerDownKeepsWhatIsApplied: while the Git server cannot be reached, the agent keeps
// the last revision applied and shows the fetch error in the status; once it is back, the next
// commit arrives.
func TestGitServerDownKeepsWhatIsApplied(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	root := t.TempDir()
	repo := gittest.NewRepo(t, root, "fleet")
	write := func(value string) string {
		repo.Write(map[string]string{
			"app/kustomization.yaml": "namespace: " + ns + "\nresources: [cm.yaml]\n",
			"app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {value: \"" + value + "\"}\n",
		})
		return repo.Commit("value " + value)
	}
	first := write("1")
	git, err := gitserver.Start(gitserver.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { git.Close() })
	proxy := &switchableProxy{addr: "127.0.0.1:0", target: git.URL[len("http://"):]}
	proxy.start(t)
	t.Cleanup(proxy.stop)

	cfg := &config.Config{Sources: []config.Source{{Metadata: config.ObjectMeta{Name: "fleet"},
		Spec: config.SourceSpec{URL: "http://" + proxy.addr + "/fleet.git", Ref: config.GitRef{Branch: "main"}, Interval: config.Duration{Duration: time.Hour}}}},
		Clusters: []config.Cluster{{Metadata: config.ObjectMeta{Name: "dev"}, Spec: config.ClusterSpec{Kubeconfig: fleet.Kubeconfig, Context: c.Name}}},
		Apps:     []config.App{{Metadata: config.ObjectMeta{Name: ns}, Spec: config.AppSpec{Source: "fleet", Path: "app", Sync: config.SyncPolicy{Automated: true}}}}}
	opts := reconciler.DefaultAgentOptions()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	agent := reconciler.NewAgent(reconciler.NewSyncer(t.TempDir()), cfg, opts)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = agent.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	status := func() reconciler.PairStatus { return agent.Status()[0] }
	waitUntil(t, time.Minute, func() bool { return status().AppliedRevision == first }, agent)

	proxy.stop()
	write("2")
	if err := agent.Refresh("fleet"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, func() bool { return status().LastError != "" }, agent)
	if st := status(); st.AppliedRevision != first || st.State != reconciler.StateSynced {
		t.Errorf("with the Git server down: %+v, want the first revision still applied and Synced", st)
	}
	if v := fleettest.Kubectl(t, c, "-n", ns, "get", "configmap/a", "-o", "jsonpath={.data.value}"); v != "1" {
		t.Errorf("value %q with the Git server down, want 1", v)
	}

	proxy.start(t)
	third := write("3")
	if err := agent.Refresh("fleet"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, func() bool { st := status(); return st.AppliedRevision == third && st.LastError == "" }, agent)
	if v := fleettest.Kubectl(t, c, "-n", ns, "get", "configmap/a", "-o", "jsonpath={.data.value}"); v != "3" {
		t.Errorf("value %q once the Git server is back, want 3", v)
	}
}
