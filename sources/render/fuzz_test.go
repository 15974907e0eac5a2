package render_test

import (
	"context"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/sources/render"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

// passwdMarker is the content of the repository's own etc/passwd in FuzzRender: no render may
// put it into an object, since no kustomization under app/ may read above app/.
const passwdMarker = "root:x:0:0:fuzz-marker"

// fileFields are the kustomization fields from which kustomize loads a file or a base, each
// with VALUE where the seed puts a URL or an absolute path.
var fileFields = []string{
	"resources: [VALUE]\n",
	"components: [VALUE]\n",
	"bases: [VALUE]\n",
	"crds: [VALUE]\n",
	"configurations: [VALUE]\n",
	"openapi: {path: VALUE}\n",
	"patches: [{path: VALUE}]\n",
	"patchesStrategicMerge: [VALUE]\n",
	"patchesJson6902: [{path: VALUE, target: {kind: ConfigMap, name: c}}]\n",
	"replacements: [{path: VALUE}]\n",
	"configMapGenerator: [{name: c, files: [VALUE]}]\n",
	"configMapGenerator: [{name: c, files: [k=VALUE]}]\n",
	"configMapGenerator: [{name: c, envs: [VALUE]}]\n",
	"configMapGenerator: [{name: c, env: VALUE}]\n",
	"secretGenerator: [{name: c, files: [VALUE]}]\n",
	"secretGenerator: [{name: c, envs: [VALUE]}]\n",
	"generators: [VALUE]\n",
	"transformers: [VALUE]\n",
	"validators: [VALUE]\n",
	"transformers: [r.yaml]\n",
}

// FuzzRender renders arbitrary kustomizations and resources: never a panic, never a connection
// (a canary server on 127.0.0.1 stands for every URL: "CANARY" in an input becomes its
// address), never a read above the kustomization's folder (the repository's own etc/passwd).
func FuzzRender(f *testing.F) {
	f.Add("resources: [r.yaml]\n", deployment)
	f.Add("resources: [r.yaml]\nnamePrefix: x-\ncommonLabels: {a: b}\n", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
	f.Add("resources: [../x]\n", "")
	f.Add("configMapGenerator:\n- name: c\n  files: [r.yaml]\n", "a: &a [*a]")
	for _, field := range fileFields {
		for _, value := range []string{"CANARY/x.yaml", "/etc/passwd", "../etc/passwd", "git@CANARY:org/repo", "file:///etc/passwd", "github.com/org/repo"} {
			f.Add(strings.ReplaceAll(field, "VALUE", value), "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: "+value+"\n")
		}
	}
	srv := newCanaryServer()
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	f.Fuzz(func(t *testing.T, kustomization, resource string) {
		replace := strings.NewReplacer("git@CANARY", "git@"+host, "CANARY", srv.URL)
		files := map[string]string{
			"app/kustomization.yaml": replace.Replace(kustomization),
			"app/r.yaml":             replace.Replace(resource),
			"etc/passwd":             passwdMarker + "\n",
		}
		view, err := tree.FromFiles(files, tree.DefaultLimits())
		if err != nil {
			return
		}
		m, err := render.Render(context.Background(), view, "app")
		if n := srv.requests.Load(); n != 0 {
			t.Fatalf("the canary server got %d requests", n)
		}
		if err != nil {
			if strings.Contains(err.Error(), passwdMarker) {
				t.Fatalf("an error shows a file above the kustomization: %v", err)
			}
			return
		}
		digest, err := render.Digest(m.Objects)
		if err != nil {
			t.Fatalf("rendered objects without a digest: %v", err)
		}
		for _, obj := range m.Objects {
			b, _ := obj.MarshalJSON()
			if strings.Contains(string(b), "fuzz-marker") {
				t.Fatalf("rendered a file above the kustomization (%s): %s", digest, b)
			}
		}
	})
}
