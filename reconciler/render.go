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

// originOf returns a lookup of where each rendered object came from (its file and the patches
// that apply to it), which renders once more, with origin tracking, on first use: only error
// messages need it.
func (r *run) originOf() func(object.ID) render.Origin {
	var once sync.Once
	var origins map[object.ID]render.Origin
	return func(id object.ID) render.Origin {
		once.Do(func() { origins = r.rev.Origins(r.key.App, r.key.Cluster) })
		return origins[id]
	}
}
