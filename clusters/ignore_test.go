package clusters

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/internal/object"
)

func TestIgnoreMatchesConflicts(t *testing.T) {
	web := object.ID{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}
	ig := Ignore{Managers: []string{"hpa"}, Rules: []config.IgnoreRule{
		{Kind: "Deployment", Name: "web", Fields: []string{"/spec/template/spec/containers/0/image"}},
		{Kind: "VirtualService", Fields: []string{"/spec/http"}},
		{Kind: "ConfigMap", Namespace: "other", Fields: []string{"/data/a~1b"}},
	}}
	tests := []struct {
		id   object.ID
		c    FieldConflict
		want bool
	}{
		{web, FieldConflict{"hpa", ".spec.replicas"}, true},
		{web, FieldConflict{"kubectl", ".spec.replicas"}, false},
		{web, FieldConflict{"kubectl", `.spec.template.spec.containers[name="web"].image`}, true},
		{web, FieldConflict{"kubectl", `.spec.template.spec.containers[name="web"].env`}, false},
		{object.ID{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "api"}, FieldConflict{"kubectl", `.spec.template.spec.containers[name="web"].image`}, false},
		{object.ID{Group: "networking.istio.io", Kind: "VirtualService", Namespace: "x", Name: "r"}, FieldConflict{"traffic", ".spec.http"}, true},
		{object.ID{Kind: "ConfigMap", Namespace: "other", Name: "c"}, FieldConflict{"x", ".data.a/b"}, true},
		{object.ID{Kind: "ConfigMap", Namespace: "shop", Name: "c"}, FieldConflict{"x", ".data.a/b"}, false},
	}
	for _, tt := range tests {
		if got := ig.ignores(tt.id, tt.c); got != tt.want {
			t.Errorf("ignores(%s, %+v) = %v, want %v", tt.id, tt.c, got, tt.want)
		}
	}
}

func TestRemoveField(t *testing.T) {
	tests := []struct {
		path      string
		obj, want map[string]any
	}{
		{".spec.replicas", map[string]any{"spec": map[string]any{"replicas": 2, "x": 1}}, map[string]any{"spec": map[string]any{"x": 1}}},
		{`.spec.containers[name="web"].image`,
			map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "side", "image": "a"}, map[string]any{"name": "web", "image": "b"}}}},
			map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "side", "image": "a"}, map[string]any{"name": "web"}}}}},
		{`.spec.ports[port=80,protocol="TCP"]`,
			map[string]any{"spec": map[string]any{"ports": []any{map[string]any{"port": int64(80), "protocol": "TCP"}, map[string]any{"port": int64(81), "protocol": "TCP"}}}},
			map[string]any{"spec": map[string]any{"ports": []any{map[string]any{"port": int64(81), "protocol": "TCP"}}}}},
		{".spec.missing.deeper", map[string]any{"spec": map[string]any{}}, map[string]any{"spec": map[string]any{}}},
		{`.a["unterminated`, map[string]any{"a": 1}, map[string]any{}},
	}
	for _, tt := range tests {
		removeField(tt.obj, parseFieldPath(tt.path))
		if d := cmp.Diff(tt.want, tt.obj); d != "" {
			t.Errorf("removeField(%s) (-want +got):\n%s", tt.path, d)
		}
	}
}

// FuzzParseFieldPath: conflict paths come from the API server; whatever they hold, reading them
// and removing them from an object must not panic.
func FuzzParseFieldPath(f *testing.F) {
	for _, seed := range []string{".spec.replicas", `.spec.containers[name="web"].image`, `.a[k="]\"",j=1].b`, "[0]", ".", "["} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, path string) {
		obj := map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "web"}}}}
		removeField(obj, parseFieldPath(path))
		_ = pointerCovers("/spec/0", parseFieldPath(path))
	})
}
