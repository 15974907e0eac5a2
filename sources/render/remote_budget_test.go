package render_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/sources/remote"
	"github.com/flotilla-dev/flotilla/sources/render"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

// TestRemoteFetchesShareTheRenderByteLimit: the bytes fetched count against the render's
// MaxTotalBytes, so that each fetch gets only what the reads and fetches before it left: a few
// files under the limit render, and thirty that together go past it are refused once the
// budget is spent, not all downloaded.
func TestRemoteFetchesShareTheRenderByteLimit(t *testing.T) {
	const size = 64 << 10
	body := strings.Repeat("x", size)
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Length", strconv.Itoa(size))
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	limits := tree.DefaultLimits()
	limits.MaxFileSize = 1 << 20
	limits.MaxTotalBytes = 512 << 10 // 8 files' worth
	for _, tc := range []struct {
		files int
		ok    bool
	}{{files: 3, ok: true}, {files: 30}} {
		t.Run(strconv.Itoa(tc.files), func(t *testing.T) {
			requests.Store(0)
			var urls []string
			for i := range tc.files {
				urls = append(urls, fmt.Sprintf("%s/f%d.txt", srv.URL, i))
			}
			view, err := tree.FromFiles(map[string]string{
				"app/kustomization.yaml": "configMapGenerator: [{name: fetched, files: [" + strings.Join(urls, ", ") + "]}]\n",
			}, limits)
			if err != nil {
				t.Fatal(err)
			}
			view.AllowRemoteBases(remote.NewFetcher(remote.Options{Timeout: 10 * time.Second, MaxRedirects: 3, AllowLocalAddresses: true}))
			m, err := render.Render(context.Background(), view, "app")
			if tc.ok {
				if err != nil {
					t.Fatalf("under the limit: %v", err)
				}
				if data := m.Objects[0].Object["data"].(map[string]any); len(data) != tc.files {
					t.Errorf("the ConfigMap has %d keys, want %d", len(data), tc.files)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "bytes; refused") {
				t.Fatalf("over the limit: err = %v, want the fetch refused at the byte limit", err)
			}
			// 8 files fit (less the kustomization's own bytes); the 9th is refused on its
			// Content-Length, and nothing after it is asked for.
			if n := requests.Load(); n > 9 {
				t.Errorf("the server got %d requests after the budget of 8 files was spent", n)
			}
		})
	}
}

// TestRemoteFetchesShareOneDeadline: all the fetches of one render end at one deadline, each
// fetch's own timeout aside: fetches that answer render, and servers that never answer stop
// the render at the render's deadline, not after each fetch's own timeout in turn.
func TestRemoteFetchesShareOneDeadline(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/hang") {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
			return
		}
		fmt.Fprint(w, "v")
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(hang) })
	render.SetMaxRemoteTime(t, 2*time.Second)
	fetcher := remote.NewFetcher(remote.Options{Timeout: time.Minute, MaxRedirects: 3, AllowLocalAddresses: true})
	for _, tc := range []struct {
		path    string
		wantErr string
	}{{path: "/f"}, {path: "/hang", wantErr: "remote fetches of one render took more than 2s; stopped"}} {
		t.Run(tc.path, func(t *testing.T) {
			var urls []string
			for i := range 4 {
				urls = append(urls, fmt.Sprintf("%s%s%d.txt", srv.URL, tc.path, i))
			}
			view, err := tree.FromFiles(map[string]string{
				"app/kustomization.yaml": "configMapGenerator: [{name: fetched, files: [" + strings.Join(urls, ", ") + "]}]\n",
			}, tree.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			view.AllowRemoteBases(fetcher)
			done := make(chan error, 1)
			go func() {
				_, err := render.Render(context.Background(), view, "app")
				done <- err
			}()
			select {
			case err := <-done:
				switch {
				case tc.wantErr == "" && err != nil:
					t.Fatal(err)
				case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
			case <-time.After(30 * time.Second): // each fetch's own timeout is a minute
				t.Fatal("the render still fetches 30 s later")
			}
		})
	}
}
