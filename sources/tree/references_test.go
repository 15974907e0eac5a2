package tree

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// nopFetcher allows remote bases without fetching anything: CheckKustomizations only lists
// them.
type nopFetcher struct{ Fetcher }

// TestCheckKustomizationsListsRemoteReferences: with remote bases allowed, every remote
// reference is returned with its file, field and kind, and WithFetched places the fetched
// content where the rewritten reference points.
func TestCheckKustomizationsListsRemoteReferences(t *testing.T) {
	view, err := FromFiles(map[string]string{
		"app/kustomization.yaml": "resources:\n- https://example.com/org/repo//base?ref=v1\n- cm.yaml\n" +
			"configMapGenerator: [{name: c, files: [k=https://example.com/k.txt]}]\n" +
			"commonAnnotations: {docs: 'https://example.com/docs'}\n",
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n",
	}, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	view.AllowRemoteBases(nopFetcher{})
	refs, err := view.CheckKustomizations("app")
	if err != nil {
		t.Fatal(err)
	}
	type ref struct {
		File, Field, Value string
		Base, Keyed        bool
	}
	var got []ref
	for _, r := range refs {
		got = append(got, ref{r.File, r.Field, r.Value, r.Base, r.Keyed})
	}
	want := []ref{
		{"app/kustomization.yaml", "configMapGenerator[0].files[0]", "k=https://example.com/k.txt", false, true},
		{"app/kustomization.yaml", "resources[0]", "https://example.com/org/repo//base?ref=v1", true, false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("references (-want +got):\n%s", diff)
	}
	fetched, err := view.WithFetched([]Fetched{{Ref: refs[0], File: []byte("v")}})
	if err != nil {
		t.Fatal(err)
	}
	k, err := fetched.ReadFile("/app/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(k), `"k=.flotilla-remote/`) {
		t.Fatalf("rewritten kustomization: %s", k)
	}
	local := strings.TrimPrefix(strings.SplitN(strings.SplitN(string(k), `"k=`, 2)[1], `"`, 2)[0], "")
	if data, err := fetched.ReadFile("/app/" + local); err != nil || string(data) != "v" {
		t.Errorf("fetched file at %s: %q, %v", local, data, err)
	}
	if _, err := view.ReadFile("/app/" + local); err == nil {
		t.Error("WithFetched changed the view it was called on")
	}
}

// TestCheckKustomizationsRefusesWithoutRendering: refusals come from the check alone, with the
// file and field, before kustomize runs.
func TestCheckKustomizationsRefusesWithoutRendering(t *testing.T) {
	tests := []struct {
		name, kustomization, want string
	}{
		{"remote", "resources: [https://example.com/x.yaml]\n", "app/kustomization.yaml: resources[0]: URL is remote"},
		{"absolute", "crds: [/etc/crd.yaml]\n", `app/kustomization.yaml: crds[0]: "/etc/crd.yaml" is an absolute path`},
		{"above the repository", "configurations: [../../x.yaml]\n", `app/kustomization.yaml: configurations[0]: "../../x.yaml" leaves the repository`},
		{"not a kustomization", "resources: [\n", "app/kustomization.yaml: not a valid kustomization"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			view, err := FromFiles(map[string]string{"app/kustomization.yaml": tt.kustomization}, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			_, err = view.CheckKustomizations("app")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			var remote *RemoteError
			if tt.name == "remote" && !errors.As(err, &remote) {
				t.Errorf("a remote reference's error is not a *RemoteError: %T", err)
			}
		})
	}
}

// TestViewIsReadOnlyAndCanBeAbandoned: every write is refused, and an abandoned view refuses
// every read.
func TestViewIsReadOnlyAndCanBeAbandoned(t *testing.T) {
	view, err := FromFiles(map[string]string{"app/cm.yaml": "a: b\n"}, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	for name, write := range map[string]func() error{
		"WriteFile": func() error { return view.WriteFile("/app/x.yaml", []byte("x")) },
		"MkdirAll":  func() error { return view.MkdirAll("/app/new") },
		"Mkdir":     func() error { return view.Mkdir("/app/new") },
		"RemoveAll": func() error { return view.RemoveAll("/app") },
		"Create":    func() error { _, err := view.Create("/app/x.yaml"); return err },
	} {
		if err := write(); !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s: %v, want ErrReadOnly", name, err)
		}
	}
	if data, err := view.ReadFile("/app/cm.yaml"); err != nil || string(data) != "a: b\n" {
		t.Fatalf("read: %q, %v", data, err)
	}
	view.Abandon()
	if _, err := view.ReadFile("/app/cm.yaml"); !errors.Is(err, ErrAbandoned) {
		t.Errorf("read after Abandon: %v, want ErrAbandoned", err)
	}
}

// TestWithFetchedChargesTheBytesFetched: what was downloaded for a reference (a remote base's
// pack, which is not a file of the new view) is charged to the new view's byte limit: up to the
// limit it is placed, past it refused.
func TestWithFetchedChargesTheBytesFetched(t *testing.T) {
	limits := DefaultLimits()
	limits.MaxTotalBytes = 1000
	for _, tc := range []struct {
		bytes int64
		ok    bool
	}{{bytes: 900, ok: true}, {bytes: 1001}} {
		view, err := FromFiles(map[string]string{"app/kustomization.yaml": "resources: [https://example.com/org/repo//base]\n"}, limits)
		if err != nil {
			t.Fatal(err)
		}
		view.AllowRemoteBases(nopFetcher{})
		refs, err := view.CheckKustomizations("app")
		if err != nil {
			t.Fatal(err)
		}
		base, err := FromFiles(map[string]string{"base/kustomization.yaml": "resources: []\n"}, limits)
		if err != nil {
			t.Fatal(err)
		}
		fetched, err := view.WithFetched([]Fetched{{Ref: refs[0], Tree: base, Folder: "base", Bytes: tc.bytes}})
		var limit *LimitError
		switch {
		case tc.ok && err != nil:
			t.Errorf("%d bytes fetched: %v", tc.bytes, err)
		case tc.ok && fetched.Stats().BytesRead < tc.bytes:
			t.Errorf("%d bytes fetched: the new view counts %d read", tc.bytes, fetched.Stats().BytesRead)
		case !tc.ok && !errors.As(err, &limit):
			t.Errorf("%d bytes fetched: err = %v, want a LimitError", tc.bytes, err)
		}
	}
}
