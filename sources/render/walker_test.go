package render_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/sources/gitserver"
	"github.com/flotilla-dev/flotilla/sources/gittest"
	"github.com/flotilla-dev/flotilla/sources/remote"
	"github.com/flotilla-dev/flotilla/sources/render"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

// TestPluginConfigurationCheckedAsKustomizeReadsIt: generator and transformer configuration is
// checked after kustomize's own decoding (List items expanded, merge keys resolved by kyaml,
// entries that parse as objects taken as inline), so no spelling hides a URL from the check.
func TestPluginConfigurationCheckedAsKustomizeReadsIt(t *testing.T) {
	srv := newCanary(t)
	generator := "{apiVersion: builtin, kind: ConfigMapGenerator, metadata: {name: stolen}, files: ['k=" + srv.URL + "/x']}"
	quoted := "'" + strings.ReplaceAll(generator, "'", "''") + "'"
	tests := []struct {
		name  string
		files map[string]string
	}{
		{name: "inside a List", files: map[string]string{
			"app/kustomization.yaml": "generators: [g.yaml]\n",
			"app/g.yaml":             "apiVersion: v1\nkind: List\nmetadata: {name: l}\nitems:\n- apiVersion: builtin\n  kind: ConfigMapGenerator\n  metadata: {name: stolen}\n  files: [k=" + srv.URL + "/x]\n",
		}},
		{name: "merge key after the explicit key, in a file", files: map[string]string{
			"app/kustomization.yaml": "resources: [cm.yaml]\ntransformers: [t.yaml]\n",
			"app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
			"app/p.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {a: b}}\n",
			"app/t.yaml":             "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: " + srv.URL + "/p.yaml\n<<: {path: p.yaml}\n",
		}},
		{name: "merge key after the explicit key, inline", files: map[string]string{
			"app/kustomization.yaml": "generators:\n- |\n  apiVersion: builtin\n  kind: ConfigMapGenerator\n  metadata: {name: stolen}\n  files: [k=" + srv.URL + "/x]\n  <<: {files: [safe.txt]}\n",
			"app/safe.txt":           "x",
		}},
		{name: "inline with an anchor", files: map[string]string{"app/kustomization.yaml": "generators:\n- " + strings.Replace(quoted, "'", "'&a ", 1) + "\n"}},
		{name: "inline with a tag", files: map[string]string{"app/kustomization.yaml": "generators:\n- " + strings.Replace(quoted, "'", "'!!map ", 1) + "\n"}},
		{name: "inline after a document marker", files: map[string]string{"app/kustomization.yaml": "generators:\n- " + strings.Replace(quoted, "'", "'--- ", 1) + "\n"}},
		{name: "inline as a flow list", files: map[string]string{"app/kustomization.yaml": "generators:\n- '[" + strings.Trim(quoted, "'") + "]'\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, fetcher := range []*remote.Fetcher{nil, remote.NewFetcher(remote.DefaultOptions())} {
				view, err := tree.FromFiles(tt.files, tree.DefaultLimits())
				if err != nil {
					t.Fatal(err)
				}
				if fetcher != nil {
					view.AllowRemoteBases(fetcher) // local addresses refused, by Flotilla's fetcher
				}
				_, err = render.Render(context.Background(), view, "app")
				if err == nil {
					t.Errorf("allowed %v: rendered, want a refusal", fetcher != nil)
				}
				if n := srv.requests.Load(); n != 0 {
					t.Fatalf("allowed %v: the canary server got %d requests (%v)", fetcher != nil, n, err)
				}
			}
		})
	}
}

// TestSecretEnvLineCheckedInsideAList: the env-line check applies to a SecretGenerator however
// its configuration is written.
func TestSecretEnvLineCheckedInsideAList(t *testing.T) {
	files := map[string]string{
		"app/kustomization.yaml": "generators: [g.yaml]\n",
		"app/s.env":              "hunter2-the-db-password\n",
		"app/g.yaml":             "apiVersion: v1\nkind: List\nitems:\n- apiVersion: builtin\n  kind: SecretGenerator\n  metadata: {name: db}\n  envs: [s.env]\n",
	}
	_, err := renderFiles(t, files, "app")
	if want := `app/s.env:1: secretGenerator env file line has no "="`; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

// TestKustomizationLoadsCannotOverflow: 64 levels that each name the next twice are 2^64
// loads, which must not wrap around the count; naming the kustomization files as generator
// data does not stop them from being counted.
func TestKustomizationLoadsCannotOverflow(t *testing.T) {
	files := map[string]string{}
	var data []string
	for i := 1; i <= 64; i++ {
		body := fmt.Sprintf("resources: [../l%d, ./../l%d]\n", i+1, i+1)
		if i == 64 {
			body = "namespace: x\n"
		}
		files[fmt.Sprintf("app/l%d/kustomization.yaml", i)] = body
		data = append(data, fmt.Sprintf("l%d/kustomization.yaml", i))
	}
	files["app/kustomization.yaml"] = "resources: [l1]\nconfigMapGenerator: [{name: d, files: [" + strings.Join(data, ", ") + "]}]\n"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	view, err := tree.FromFiles(files, tree.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	_, err = render.Render(ctx, view, "app")
	if want := "kustomizations loaded by one render"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

// TestInlinePatchesHeldToLimits: a patch written in the kustomization is parsed too, and held
// to the nesting limit like a file.
func TestInlinePatchesHeldToLimits(t *testing.T) {
	deep := strings.Repeat("[", 5_000) + strings.Repeat("]", 5_000)
	files := map[string]string{
		"app/kustomization.yaml": "resources: [cm.yaml]\npatches:\n- patch: '" + deep + "'\n  target: {kind: ConfigMap}\n",
		"app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
	}
	_, err := renderFiles(t, files, "app")
	if want := "app/kustomization.yaml: patches[0].patch: YAML nesting depth: 201 is over the limit of 200"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

// TestRemoteBasePackInflationBounded: a remote base whose packfile is small on the wire but
// inflates past the render's byte limit is refused before go-git inflates it.
func TestRemoteBasePackInflationBounded(t *testing.T) {
	root := t.TempDir()
	shared := gittest.NewRepo(t, root, "shared")
	shared.Write(map[string]string{"base/kustomization.yaml": "namespace: x\n", "base/zeros.bin": strings.Repeat("\x00", 64<<20)})
	shared.Commit("bomb")
	srv, err := gitserver.Start(gitserver.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	limits := tree.DefaultLimits()
	limits.MaxTotalBytes, limits.MaxFileSize = 2<<20, 1<<20
	view, err := tree.FromFiles(map[string]string{"app/kustomization.yaml": "resources:\n- " + srv.RepoURL("shared") + "//base?ref=main\n"}, limits)
	if err != nil {
		t.Fatal(err)
	}
	view.AllowRemoteBases(remote.NewFetcher(remote.Options{Timeout: time.Minute, MaxRedirects: 3, AllowLocalAddresses: true}))
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = render.Render(context.Background(), view, "app")
	runtime.ReadMemStats(&after)
	if want := "an object of 67108864 bytes is over the limit of 1048576 for one file"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 32<<20 {
		t.Errorf("a render limited to 2 MiB allocated %d MiB", allocated>>20)
	}
}
