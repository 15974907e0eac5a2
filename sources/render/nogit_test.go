package render

import (
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/flotilla-dev/flotilla/internal/nogit"
	"github.com/flotilla-dev/flotilla/sources/gitserver"
	"github.com/flotilla-dev/flotilla/sources/gittest"
)

// TestKustomizeGitReachesNoServer: kustomize clones a remote base by running git. Handed one
// directly (as if the check before it had missed the form), it reaches the Git server; with
// nogit.Disable, as the flotilla binary runs, git refuses the transport and the server gets no
// request.
func TestKustomizeGitReachesNoServer(t *testing.T) {
	root := t.TempDir()
	inner := gittest.NewRepo(t, root, "inner")
	inner.Write(map[string]string{"base/kustomization.yaml": "resources: [d.yaml]\n", "base/d.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"})
	inner.Commit("inner")
	srv, err := gitserver.Start(gitserver.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	fs := filesys.MakeFsInMemory()
	// git:: is a remote base to kustomize and not an http(s) file: its loader clones it.
	if err := fs.WriteFile("/app/kustomization.yaml", []byte("resources:\n- git::"+srv.RepoURL("inner")+"//base?ref=main\n")); err != nil {
		t.Fatal(err)
	}

	_, err = newKustomizer().Run(fs, "/app")
	if srv.Requests() == 0 {
		t.Fatalf("without nogit, kustomize's git made no request (err = %v): the test does not reach git", err)
	}

	for _, v := range []string{"GIT_ALLOW_PROTOCOL", "GIT_PROTOCOL_FROM_USER", "GIT_TERMINAL_PROMPT"} {
		t.Setenv(v, "") // restored when the test ends
	}
	if err := nogit.Disable(); err != nil {
		t.Fatal(err)
	}
	before := srv.Requests()
	_, err = newKustomizer().Run(fs, "/app")
	if err == nil || !strings.Contains(err.Error(), "transport 'http' not allowed") {
		t.Errorf("err = %v, want git to refuse the transport", err)
	}
	if n := srv.Requests() - before; n != 0 {
		t.Errorf("with nogit, the Git server got %d requests", n)
	}
}
