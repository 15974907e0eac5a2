package render_test

import (
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/sources/gitserver"
	"github.com/flotilla-dev/flotilla/sources/gittest"
	"github.com/flotilla-dev/flotilla/sources/render"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

// TestRenderRemoteBaseWhenAllowed: a Source that opts in may use a remote base, here on a Git
// server on 127.0.0.1.
func TestRenderRemoteBaseWhenAllowed(t *testing.T) {
	root := t.TempDir()
	shared := gittest.NewRepo(t, root, "shared")
	shared.Write(map[string]string{"base/kustomization.yaml": "resources: [d.yaml]\n", "base/d.yaml": deployment})
	shared.Commit("shared base")
	srv, err := gitserver.Start(gitserver.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	remote := srv.RepoURL("shared") + "//base?ref=main"
	files := map[string]string{"app/kustomization.yaml": "namespace: shop\nresources:\n- " + remote + "\n"}

	view, err := tree.FromFiles(files, tree.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := render.Render(view, "app"); err == nil || !strings.Contains(err.Error(), "remote base") {
		t.Fatalf("without the opt-in: err = %v, want the remote base refused", err)
	}
	view.AllowRemoteBases()
	m, err := render.Render(view, "app")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Objects) != 1 || render.IDOf(m.Objects[0]).String() != "Deployment.apps/shop/web" {
		t.Errorf("rendered %v", m.Objects)
	}
}
