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

	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/sources/gitserver"
	"github.com/flotilla-dev/flotilla/sources/gittest"
	"github.com/flotilla-dev/flotilla/sources/remote"
	"github.com/flotilla-dev/flotilla/sources/render"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

// canary is an HTTP server on 127.0.0.1 that counts the requests it gets and answers with a
// ConfigMap, so that a render that fetched from it would succeed.
type canary struct {
	*httptest.Server
	requests atomic.Int64
}

func newCanary(t *testing.T) *canary {
	c := newCanaryServer()
	t.Cleanup(c.Close)
	return c
}

func newCanaryServer() *canary {
	c := &canary{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.requests.Add(1)
		fmt.Fprint(w, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stolen}\ndata: {secret: s3cr3t}\n")
	}))
	return c
}

// TestRemoteReferencesRefusedWithoutConnection: with remote bases off, a URL of any scheme in
// any field from which kustomize loads a file is refused with the field named, before any
// connection is made.
func TestRemoteReferencesRefusedWithoutConnection(t *testing.T) {
	srv := newCanary(t)
	url := srv.URL + "/secret.txt"
	tests := []struct {
		name, kustomization, field string
		extra                      map[string]string
	}{
		{name: "resources", kustomization: "resources: [" + url + "]\n", field: "resources[0]"},
		{name: "components", kustomization: "components: [" + url + "]\n", field: "components[0]"},
		{name: "bases", kustomization: "bases: [" + url + "]\n", field: "bases[0]"},
		{name: "crds", kustomization: "crds: [" + url + "]\n", field: "crds[0]"},
		{name: "configurations", kustomization: "configurations: [" + url + "]\n", field: "configurations[0]"},
		{name: "openapi", kustomization: "openapi: {path: " + url + "}\n", field: "openapi.path"},
		{name: "patches", kustomization: "patches: [{path: " + url + "}]\n", field: "patches[0].path"},
		{name: "patchesStrategicMerge", kustomization: "patchesStrategicMerge: [" + url + "]\n", field: "patchesStrategicMerge[0]"},
		{name: "patchesJson6902", kustomization: "patchesJson6902: [{path: " + url + ", target: {kind: ConfigMap, name: c}}]\n", field: "patchesJson6902[0].path"},
		{name: "replacements", kustomization: "replacements: [{path: " + url + "}]\n", field: "replacements[0].path"},
		{name: "configMapGenerator files", kustomization: "configMapGenerator: [{name: stolen, files: [" + url + "]}]\n", field: "configMapGenerator[0].files[0]"},
		{name: "configMapGenerator keyed file", kustomization: "configMapGenerator: [{name: stolen, files: [key=" + url + "]}]\n", field: "configMapGenerator[0].files[0]"},
		{name: "configMapGenerator envs", kustomization: "configMapGenerator: [{name: stolen, envs: [" + url + "]}]\n", field: "configMapGenerator[0].envs[0]"},
		{name: "configMapGenerator env", kustomization: "configMapGenerator: [{name: stolen, env: " + url + "}]\n", field: "configMapGenerator[0].env"},
		{name: "secretGenerator files", kustomization: "secretGenerator: [{name: stolen, files: [" + url + "]}]\n", field: "secretGenerator[0].files[0]"},
		{name: "generators", kustomization: "generators: [" + url + "]\n", field: "generators[0]"},
		{name: "transformers", kustomization: "transformers: [" + url + "]\n", field: "transformers[0]"},
		{name: "validators", kustomization: "validators: [" + url + "]\n", field: "validators[0]"},
		{name: "helm chart repository", kustomization: "helmCharts: [{name: c, repo: " + srv.URL + "}]\n", field: "helmCharts[0].repo"},
		{
			name: "plugin configuration file", kustomization: "transformers: [t.yaml]\n", field: "object 1 (PatchTransformer/p): path",
			extra: map[string]string{"app/t.yaml": "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: " + url + "\n"},
		},
		{
			name: "generator configuration file", kustomization: "generators: [g.yaml]\n", field: "object 2 (ConfigMapGenerator/b): files[0]",
			extra: map[string]string{"app/g.yaml": "apiVersion: builtin\nkind: SecretGenerator\nmetadata: {name: a}\n---\napiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: b}\nfiles: [" + url + "]\n"},
		},
		{
			name: "inline plugin configuration", kustomization: "transformers:\n- |\n  apiVersion: builtin\n  kind: PatchTransformer\n  metadata: {name: p}\n  path: " + url + "\n",
			field: "transformers[0].path",
		},
		{
			name: "plugin configuration from a kustomization", kustomization: "transformers: [plugins]\n", field: "object 1 (PatchTransformer/p): path",
			extra: map[string]string{
				"app/plugins/kustomization.yaml": "resources: [t.yaml]\n",
				"app/plugins/t.yaml":             "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: " + url + "\n",
			},
		},
		{name: "upper-case scheme", kustomization: "configMapGenerator: [{name: stolen, files: [" + strings.Replace(url, "http", "HTTP", 1) + "]}]\n", field: "configMapGenerator[0].files[0]"},
		{name: "field name in another case", kustomization: "ConfigMapGenerator: [{Name: stolen, FILES: [" + url + "]}]\n", field: "ConfigMapGenerator[0].FILES[0]"},
		{name: "field name with a long s", kustomization: "reſources: [" + url + "]\n", field: "reſources[0]"},
		{name: "merge key from an anchor under a value field", kustomization: "metadata: &m {name: x, resources: [" + url + "]}\n<<: *m\n", field: "resources[0]"},
		{name: "JSON", kustomization: `{"resources": ["` + url + `"]}`, field: "resources[0]"},
		{name: "a field kustomize does not have yet", kustomization: "futureFiles: [" + url + "]\n", field: "futureFiles[0]"},
		{name: "https", kustomization: "resources: [https://127.0.0.1:1/x.yaml]\n", field: "resources[0]"},
		{name: "git scheme", kustomization: "resources: [git://127.0.0.1/org/repo]\n", field: "resources[0]"},
		{name: "ssh scheme", kustomization: "resources: [ssh://git@127.0.0.1/org/repo]\n", field: "resources[0]"},
		{name: "file scheme", kustomization: "configMapGenerator: [{name: x, files: [file:///etc/passwd]}]\n", field: "configMapGenerator[0].files[0]"},
		{name: "scp-like", kustomization: "resources: [git@127.0.0.1:org/repo]\n", field: "resources[0]"},
		{name: "git:: prefix", kustomization: "resources: [git::https://127.0.0.1/org/repo]\n", field: "resources[0]"},
		{name: "github.com path", kustomization: "resources: [github.com/org/repo/base]\n", field: "resources[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"app/kustomization.yaml": tt.kustomization, "app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"}
			for k, v := range tt.extra {
				files[k] = v
			}
			_, err := renderFiles(t, files, "app")
			if err == nil {
				t.Fatal("rendered, want the remote reference refused")
			}
			if want := ": " + tt.field + ": URL is remote; the Source does not allow remote bases"; !strings.Contains(err.Error(), want) {
				t.Errorf("error does not contain %q:\n%v", want, err)
			}
			if n := srv.requests.Load(); n != 0 {
				t.Fatalf("the canary server got %d requests", n)
			}
		})
	}
}

// TestAbsolutePathsRefused: an absolute path in any file field is refused, as kubectl
// kustomize refuses it, instead of being read from the repository's own folder of that name.
func TestAbsolutePathsRefused(t *testing.T) {
	tests := []struct{ name, kustomization, field string }{
		{"envs", "configMapGenerator: [{name: x, envs: [/etc/passwd]}]\n", "configMapGenerator[0].envs[0]"},
		{"keyed file", "secretGenerator: [{name: x, files: [pw=/etc/passwd]}]\n", "secretGenerator[0].files[0]"},
		{"resources", "resources: [/etc/passwd]\n", "resources[0]"},
		{"patches", "resources: [cm.yaml]\npatches: [{path: /etc/passwd}]\n", "patches[0].path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"kustomization.yaml": tt.kustomization, "etc/passwd": "root=x\n", "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"}
			_, err := renderFiles(t, files, ".")
			if want := "kustomization.yaml: " + tt.field + `: "/etc/passwd" is an absolute path`; err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want %q", err, want)
			}
		})
	}
}

// TestRenderRemoteBaseWhenAllowed: a Source that opts in may use a remote base, here on a Git
// server on 127.0.0.1, fetched by Flotilla (kustomize never reaches the network); a base that
// climbs out of its repository is refused.
func TestRenderRemoteBaseWhenAllowed(t *testing.T) {
	root := t.TempDir()
	shared := gittest.NewRepo(t, root, "shared")
	shared.Write(map[string]string{
		"base/kustomization.yaml":   "resources: [d.yaml]\nconfigMapGenerator: [{name: settings, files: [settings.txt]}]\n",
		"base/d.yaml":               deployment,
		"base/settings.txt":         "remote=1\n",
		"escape/kustomization.yaml": "resources: [../../../../app]\n",
	})
	shared.Commit("shared base")
	srv, err := gitserver.Start(gitserver.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	base := srv.RepoURL("shared") + "//base?ref=main"
	files := map[string]string{"app/kustomization.yaml": "namespace: shop\nresources:\n- " + base + "\n"}

	view, err := tree.FromFiles(files, tree.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := render.Render(context.Background(), view, "app"); err == nil || !strings.Contains(err.Error(), "URL is remote") {
		t.Fatalf("without the opt-in: err = %v, want the remote base refused", err)
	}
	view.AllowRemoteBases(remote.NewFetcher(remote.Options{Timeout: 10 * time.Second, MaxRedirects: 3, AllowLocalAddresses: true}))
	m, err := render.Render(context.Background(), view, "app")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, obj := range m.Objects {
		ids = append(ids, object.IDOf(obj).String())
	}
	if len(ids) != 2 || !strings.HasPrefix(ids[0], "ConfigMap/shop/settings-") || ids[1] != "Deployment.apps/shop/web" {
		t.Errorf("rendered %v", ids)
	}

	files["app/kustomization.yaml"] = "resources:\n- " + srv.RepoURL("shared") + "//escape?ref=main\n"
	escaping, err := tree.FromFiles(files, tree.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	escaping.AllowRemoteBases(remote.NewFetcher(remote.Options{Timeout: 10 * time.Second, AllowLocalAddresses: true}))
	if _, err := render.Render(context.Background(), escaping, "app"); err == nil || !strings.Contains(err.Error(), "leaves the repository") {
		t.Errorf("a remote base climbing out of its repository: err = %v", err)
	}
}

// TestRemoteFilesWhenAllowed: with remote bases allowed, files are fetched with a timeout, a
// byte limit, a few redirects at most, and never from a local address unless a test allows it.
func TestRemoteFilesWhenAllowed(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	mux := http.NewServeMux()
	mux.HandleFunc("/secret.txt", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "s3cr3t") })
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("x", 32<<10))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/redirect/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Path+"x", http.StatusFound)
	})
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	forTests := remote.Options{Timeout: 2 * time.Second, MaxRedirects: 3, AllowLocalAddresses: true}
	limits := tree.DefaultLimits()
	limits.MaxFileSize = 1 << 20
	tests := []struct {
		name    string
		opts    remote.Options
		url     string
		wantErr string
	}{
		{name: "fetched", opts: forTests, url: srv.URL + "/secret.txt"},
		{name: "local address refused", opts: remote.DefaultOptions(), url: srv.URL + "/secret.txt", wantErr: "loopback, link-local and unspecified addresses are never fetched from"},
		{name: "link-local address refused", opts: remote.DefaultOptions(), url: "http://169.254.169.254/latest/meta-data", wantErr: "loopback, link-local and unspecified addresses are never fetched from"},
		{name: "unspecified address refused", opts: remote.DefaultOptions(), url: "http://0.0.0.0:80/x", wantErr: "loopback, link-local and unspecified addresses are never fetched from"},
		{name: "server that never answers", opts: forTests, url: srv.URL + "/hang", wantErr: "no answer in time"},
		{name: "server that streams forever", opts: forTests, url: srv.URL + "/stream", wantErr: "more than 1048576 bytes"},
		{name: "too many redirects", opts: forTests, url: srv.URL + "/redirect/", wantErr: "stopped after 3 redirects"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := requests.Load()
			files := map[string]string{"app/kustomization.yaml": "configMapGenerator: [{name: fetched, files: [" + tt.url + "]}]\n"}
			view, err := tree.FromFiles(files, limits)
			if err != nil {
				t.Fatal(err)
			}
			view.AllowRemoteBases(remote.NewFetcher(tt.opts))
			m, err := render.Render(context.Background(), view, "app")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				data := m.Objects[0].Object["data"].(map[string]any)
				if data["secret.txt"] != "s3cr3t" {
					t.Errorf("data = %v, want the fetched file under its own name", data)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), "app/kustomization.yaml: configMapGenerator[0].files[0]: ") {
				t.Errorf("error does not name the file and field: %v", err)
			}
			if tt.opts.AllowLocalAddresses == false && requests.Load() != before {
				t.Errorf("a refused address got %d requests", requests.Load()-before)
			}
		})
	}
}

// TestRemoteFileSizeLimit: a remote file is held to the view's MaxFileSize, with or without a
// Content-Length: a file one byte under the limit and one exactly at it render, one a byte over
// is refused, naming the limit.
func TestRemoteFileSizeLimit(t *testing.T) {
	const limit = 4 << 10
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// /SIZE/ENCODING/f.txt: SIZE bytes, with a Content-Length or chunked.
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
		size, err := strconv.Atoi(parts[0])
		if err != nil || len(parts) != 3 {
			http.NotFound(w, r)
			return
		}
		switch parts[1] {
		case "length":
			w.Header().Set("Content-Length", strconv.Itoa(size))
		case "chunked":
			w.(http.Flusher).Flush() // headers out before the body: no Content-Length
		}
		w.Write([]byte(strings.Repeat("x", size)))
	}))
	t.Cleanup(srv.Close)
	limits := tree.DefaultLimits()
	limits.MaxFileSize = limit
	fetcher := remote.NewFetcher(remote.Options{Timeout: 10 * time.Second, MaxRedirects: 3, AllowLocalAddresses: true})
	for _, encoding := range []string{"length", "chunked"} {
		for _, tc := range []struct {
			name string
			size int
			ok   bool
		}{
			{name: "just under", size: limit - 1, ok: true},
			{name: "at the limit", size: limit, ok: true},
			{name: "just over", size: limit + 1},
		} {
			t.Run(encoding+"/"+tc.name, func(t *testing.T) {
				url := fmt.Sprintf("%s/%d/%s/f.txt", srv.URL, tc.size, encoding)
				view, err := tree.FromFiles(map[string]string{
					"app/kustomization.yaml": "configMapGenerator: [{name: fetched, files: [" + url + "]}]\n",
				}, limits)
				if err != nil {
					t.Fatal(err)
				}
				view.AllowRemoteBases(fetcher)
				m, err := render.Render(context.Background(), view, "app")
				if tc.ok {
					if err != nil {
						t.Fatalf("%d bytes, limit %d: %v", tc.size, limit, err)
					}
					data := m.Objects[0].Object["data"].(map[string]any)
					if got, _ := data["f.txt"].(string); len(got) != tc.size {
						t.Errorf("the ConfigMap holds %d bytes under f.txt, want %d", len(got), tc.size)
					}
					return
				}
				for _, want := range []string{
					"app/kustomization.yaml: configMapGenerator[0].files[0]: fetch " + url + ": ",
					fmt.Sprintf("more than %d bytes; refused", limit),
				} {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Fatalf("%d bytes, limit %d: err = %v\nwant it to contain %q", tc.size, limit, err, want)
					}
				}
			})
		}
	}
}

// TestRemoteFileRedirectLimit: a fetch follows at most the default 3 redirects: a chain of
// exactly 3 renders, a chain of 4 is refused, naming the limit, without asking for the file at
// its end.
func TestRemoteFileRedirectLimit(t *testing.T) {
	var targetRequests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// /hops/N/f.txt redirects to /hops/N-1/f.txt; /hops/0/f.txt is the file.
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/hops/"), "/f.txt"))
		switch {
		case err != nil:
			http.NotFound(w, r)
		case n > 0:
			http.Redirect(w, r, fmt.Sprintf("/hops/%d/f.txt", n-1), http.StatusFound)
		default:
			targetRequests.Add(1)
			fmt.Fprint(w, "arrived")
		}
	}))
	t.Cleanup(srv.Close)
	opts := remote.DefaultOptions()
	opts.Timeout = 10 * time.Second
	opts.AllowLocalAddresses = true
	if opts.MaxRedirects != 3 {
		t.Fatalf("DefaultOptions().MaxRedirects = %d; this test expects 3", opts.MaxRedirects)
	}
	fetcher := remote.NewFetcher(opts)
	for _, tc := range []struct {
		name    string
		hops    int
		wantErr string
	}{
		{name: "no redirect", hops: 0},
		{name: "exactly the maximum", hops: 3},
		{name: "one more than the maximum", hops: 4, wantErr: "stopped after 3 redirects"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			targetRequests.Store(0)
			url := fmt.Sprintf("%s/hops/%d/f.txt", srv.URL, tc.hops)
			view, err := tree.FromFiles(map[string]string{
				"app/kustomization.yaml": "configMapGenerator: [{name: fetched, files: [" + url + "]}]\n",
			}, tree.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			view.AllowRemoteBases(fetcher)
			m, err := render.Render(context.Background(), view, "app")
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("%d redirects: %v", tc.hops, err)
				}
				if data := m.Objects[0].Object["data"].(map[string]any); data["f.txt"] != "arrived" {
					t.Errorf("data = %v, want the file at the end of the redirects", data)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("%d redirects: err = %v, want %q", tc.hops, err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), "app/kustomization.yaml: configMapGenerator[0].files[0]: fetch "+url) {
				t.Errorf("error does not name the file, field and URL: %v", err)
			}
			if n := targetRequests.Load(); n != 0 {
				t.Errorf("the file past the redirect limit was asked for %d times", n)
			}
		})
	}
}

// TestPluginFolderCannotChangeItsConfiguration: a folder of transformer configuration may not
// patch the configuration it lists, since a patch could add a URL after the check.
func TestPluginFolderCannotChangeItsConfiguration(t *testing.T) {
	srv := newCanary(t)
	files := map[string]string{
		"app/kustomization.yaml":         "resources: [cm.yaml]\ntransformers: [plugins]\n",
		"app/cm.yaml":                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
		"app/plugins/kustomization.yaml": "resources: [t.yaml]\npatches:\n- target: {kind: PatchTransformer}\n  patch: '[{\"op\": \"add\", \"path\": \"/path\", \"value\": \"" + srv.URL + "/p.yaml\"}]'\n",
		"app/plugins/t.yaml":             "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\ntarget: {kind: ConfigMap}\npatch: '[{\"op\": \"add\", \"path\": \"/metadata/labels\", \"value\": {\"a\": \"b\"}}]'\n",
	}
	_, err := renderFiles(t, files, "app")
	if want := `app/plugins/kustomization.yaml: "patches": a folder of generator, transformer or validator configuration may only list resources`; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if n := srv.requests.Load(); n != 0 {
		t.Fatalf("the canary server got %d requests", n)
	}
	files["app/plugins/kustomization.yaml"] = "resources: [t.yaml]\n"
	m, err := renderFiles(t, files, "app")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Objects[0].GetLabels()["a"]; got != "b" {
		t.Errorf("the transformer from the folder did not run: labels %v", m.Objects[0].GetLabels())
	}
}

// TestRemoteResourcesWhenAllowed: a resources entry that is a plain URL is fetched as a file;
// a remote base that names another remote base is fetched in a second round.
func TestRemoteResourcesWhenAllowed(t *testing.T) {
	srv := newCanary(t)
	root := t.TempDir()
	inner := gittest.NewRepo(t, root, "inner")
	inner.Write(map[string]string{"base/kustomization.yaml": "resources: [d.yaml]\n", "base/d.yaml": deployment})
	inner.Commit("inner")
	gitSrv, err := gitserver.Start(gitserver.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	defer gitSrv.Close()
	outer := gittest.NewRepo(t, root, "outer")
	outer.Write(map[string]string{"kustomization.yaml": "resources:\n- " + gitSrv.RepoURL("inner") + "//base?ref=main\n"})
	outer.Commit("outer")

	files := map[string]string{"app/kustomization.yaml": "namespace: shop\nresources:\n- " + srv.URL + "/cm.yaml\n- " + gitSrv.RepoURL("outer") + "?ref=main\n"}
	view, err := tree.FromFiles(files, tree.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	view.AllowRemoteBases(remote.NewFetcher(remote.Options{Timeout: 10 * time.Second, MaxRedirects: 3, AllowLocalAddresses: true}))
	m, err := render.Render(context.Background(), view, "app")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, obj := range m.Objects {
		ids = append(ids, object.IDOf(obj).String())
	}
	if want := "ConfigMap/shop/stolen Deployment.apps/shop/web"; strings.Join(ids, " ") != want {
		t.Errorf("rendered %v, want %s", ids, want)
	}
	if n := srv.requests.Load(); n != 1 {
		t.Errorf("the file server got %d requests, want 1", n)
	}
}
