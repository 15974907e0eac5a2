package sources_test

import (
	"context"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/sources"
	"github.com/flotilla-dev/flotilla/sources/gitrepo"
	"github.com/flotilla-dev/flotilla/sources/gittest"
	"github.com/flotilla-dev/flotilla/sources/render"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

func TestCheckoutRendersPerClusterAndReusesUnchangedRenders(t *testing.T) {
	repo := gittest.NewRepo(t, t.TempDir(), "fleet")
	cm := func(name, value string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\ndata: {v: \"" + value + "\"}\n"
	}
	repo.Write(map[string]string{
		"base/kustomization.yaml":         "resources: [cm.yaml]\n",
		"base/cm.yaml":                    cm("settings", "1"),
		"overlays/dev/kustomization.yaml": "resources: [../../base]\nnamespace: dev\n",
		"overlays/prd/kustomization.yaml": "resources: [../../base]\nnamespace: prd\n",
	})
	repo.Commit("first")
	src := &config.Source{Metadata: config.ObjectMeta{Name: "fleet"}, Spec: config.SourceSpec{URL: repo.FileURL(), Ref: config.GitRef{Branch: "main"}}}
	app := &config.App{Metadata: config.ObjectMeta{Name: "settings"}, Spec: config.AppSpec{Source: "fleet", Path: "overlays/{{ .Cluster.Labels.env }}"}}
	dev := &config.Cluster{Metadata: config.ObjectMeta{Name: "dev-1", Labels: map[string]string{"env": "dev"}}}
	prd := &config.Cluster{Metadata: config.ObjectMeta{Name: "prd-1", Labels: map[string]string{"env": "prd"}}}
	fetcher, cache := gitrepo.NewFetcher(t.TempDir()), render.NewCache()

	checkout := fetch(t, fetcher, src, cache)
	devFirst := renderFor(t, checkout, app, dev)
	if ns := devFirst.Objects[0].GetNamespace(); ns != "dev" {
		t.Errorf("dev renders into namespace %q", ns)
	}
	prdFirst := renderFor(t, checkout, app, prd)

	repo.Write(map[string]string{"overlays/prd/kustomization.yaml": "resources: [../../base]\nnamespace: prd\nnamePrefix: p-\n"})
	repo.Commit("only prd changes")
	checkout = fetch(t, fetcher, src, cache)
	if got := renderFor(t, checkout, app, dev); got != devFirst {
		t.Error("dev was rendered again although nothing it reads changed")
	}
	if got := renderFor(t, checkout, app, prd); got == prdFirst || got.Objects[0].GetName() != "p-settings" {
		t.Errorf("prd changed but the render is %s", got.Objects[0].GetName())
	}

	_, err := checkout.Render(context.Background(), app, &config.Cluster{Metadata: config.ObjectMeta{Name: "bare"}})
	if err == nil || !strings.Contains(err.Error(), "Cluster/bare") {
		t.Errorf("render for a cluster without the env label: err = %v", err)
	}
}

func fetch(t *testing.T, f *gitrepo.Fetcher, src *config.Source, cache *render.Cache) *sources.Checkout {
	t.Helper()
	c, err := sources.Fetch(context.Background(), f, src, tree.DefaultLimits(), cache)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func renderFor(t *testing.T, c *sources.Checkout, app *config.App, cluster *config.Cluster) *render.Manifests {
	t.Helper()
	m, err := c.Render(context.Background(), app, cluster)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
