package reconciler

import (
	"context"
	"sync"

	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/sources/render"
)

// render renders the App for the cluster from the revision: the objects in apply order, with
// their digest.
func (r *run) render(ctx context.Context) (*render.Manifests, error) {
	manifests, err := r.rev.Render(ctx, r.key.App, r.key.Cluster)
	if err != nil {
		return nil, err
	}
	r.result.Digest = manifests.Digest
	return manifests, nil
}

// fileOf returns a lookup of the repository file each rendered object came from, which renders
// once more, with origin tracking, on first use: only error messages need it.
func (r *run) fileOf() func(object.ID) string {
	var once sync.Once
	var files map[object.ID]string
	return func(id object.ID) string {
		once.Do(func() { files = r.rev.Files(r.key.App, r.key.Cluster) })
		return files[id]
	}
}
