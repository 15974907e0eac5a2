package render_test

import (
	"context"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/sources/render"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

func TestCacheReusesRenderOnlyWhenInputsAreUnchanged(t *testing.T) {
	base := map[string]string{
		"app/kustomization.yaml":   "resources: [d.yaml, cm.yaml]\nnamespace: shop\n",
		"app/d.yaml":               deployment,
		"app/cm.yaml":              "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n",
		"other/kustomization.yaml": "resources: [cm.yaml]\n",
		"other/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: o}\n",
		"link.yaml@":               "->app/cm.yaml",
	}
	with := func(changes map[string]string) map[string]string {
		files := map[string]string{}
		for k, v := range base {
			files[k] = v
		}
		for k, v := range changes {
			if v == "" {
				delete(files, k)
			} else {
				files[k] = v
			}
		}
		return files
	}
	cache := render.NewCache()
	first := cacheRender(t, cache, base)
	tests := []struct {
		name    string
		files   map[string]string
		reuse   bool
		wantErr string
	}{
		{"same revision", base, true, ""},
		{"another App's folder changed", with(map[string]string{"other/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: changed}\n"}), true, ""},
		{"an unrelated file added", with(map[string]string{"README.md": "hello"}), true, ""},
		{"a resource changed", with(map[string]string{"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: changed}\n"}), false, ""},
		{"the kustomization changed", with(map[string]string{"app/kustomization.yaml": "resources: [d.yaml, cm.yaml]\nnamespace: prod\n"}), false, ""},
		{"a second kustomization file appeared", with(map[string]string{"app/kustomization.yml": "resources: []\n"}), false, "multiple"},
		{"a resource was removed", with(map[string]string{"app/cm.yaml": ""}), false, "cm.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			view, err := tree.FromFiles(tt.files, tree.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			got, err := cache.Render(context.Background(), view, "app")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if reused := got == first; reused != tt.reuse {
				t.Errorf("reused the first render = %v, want %v", reused, tt.reuse)
			}
			fresh, err := render.Render(context.Background(), view, "app")
			if err != nil {
				t.Fatal(err)
			}
			if got.Digest != fresh.Digest {
				t.Errorf("cached digest %s differs from a fresh render's %s", got.Digest, fresh.Digest)
			}
		})
	}
	if hits, misses := cache.Stats(); hits < 3 || misses < 2 {
		t.Errorf("cache stats: %d hits, %d misses", hits, misses)
	}
}

func cacheRender(t *testing.T, cache *render.Cache, files map[string]string) *render.Manifests {
	t.Helper()
	view, err := tree.FromFiles(files, tree.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	m, err := cache.Render(context.Background(), view, "app")
	if err != nil {
		t.Fatal(err)
	}
	return m
}
