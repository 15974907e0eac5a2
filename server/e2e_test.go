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
