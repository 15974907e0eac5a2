package sources

import (
	"context"
	"fmt"

	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/sources/gitrepo"
	"github.com/flotilla-dev/flotilla/sources/remote"
	"github.com/flotilla-dev/flotilla/sources/render"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

// Checkout is one fetched revision of a Source, ready to render for any App and Cluster.
type Checkout struct {
	Source  *config.Source
	Fetched *gitrepo.Fetched
	view    *tree.FS
	cache   *render.Cache
}

// Fetch resolves and fetches the Source with f, and indexes the revision's tree once. Renders
// go through cache, which may be nil.
func Fetch(ctx context.Context, f *gitrepo.Fetcher, src *config.Source, limits tree.Limits, cache *render.Cache) (*Checkout, error) {
	fetched, err := f.Fetch(ctx, src)
	if err != nil {
		return nil, err
	}
	view, err := tree.FromGit(fetched.Tree, limits)
	if err != nil {
		return nil, fmt.Errorf("Source/%s: revision %s: %w", src.Metadata.Name, fetched.Revision.ShortCommit(), err)
	}
	if src.Spec.AllowRemoteBases {
		view.AllowRemoteBases(remote.NewFetcher(remote.DefaultOptions()))
	}
	return &Checkout{Source: src, Fetched: fetched, view: view, cache: cache}, nil
}

// Render renders app for cluster from this revision: the App's path template is resolved with
// the cluster's name and labels, then the kustomization there is built.
func (c *Checkout) Render(ctx context.Context, app *config.App, cluster *config.Cluster) (*render.Manifests, error) {
	path, err := app.PathFor(cluster)
	if err != nil {
		return nil, err
	}
	m, err := c.cache.Render(ctx, c.view.Fresh(), path)
	if err != nil {
		return nil, fmt.Errorf("App/%s on Cluster/%s at %s: %w", app.Metadata.Name, cluster.Metadata.Name, c.Fetched.Revision.ShortCommit(), err)
	}
	return m, nil
}

// Origins returns where each of the App's objects on the cluster came from (its file and the
// patches that apply to it), rendering once more with origin tracking: for error messages.
func (c *Checkout) Origins(app *config.App, cluster *config.Cluster) map[object.ID]render.Origin {
	path, err := app.PathFor(cluster)
	if err != nil {
		return nil
	}
	return render.Origins(c.view.Fresh(), path)
}

// Describe is the commit the checkout holds.
func (c *Checkout) Describe() gitrepo.Revision { return c.Fetched.Revision }
