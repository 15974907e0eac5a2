package reconciler

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/policies"
	"github.com/flotilla-dev/flotilla/sources/render"
)

// prepared is what syncing or diffing one App on one cluster starts from.
type prepared struct {
	manifests *render.Manifests
	target    *clusters.Target
	inventory *clusters.Inventory
	// live is the metadata of the inventory's objects, listed while the revision rendered.
	live *clusters.LiveObjects
	// schemas are the cluster's OpenAPI schemas, to check the render against before applying.
	schemas *clusters.Schemas
}

// prepare renders the App for the cluster and applies the render guard; meanwhile it connects,
// reads the inventory and, with prefetch (what a sync needs before it applies), lists what the
// inventory's objects look like now and loads the cluster's schemas of the kinds it held, so
// that the cluster's answers arrive and are parsed while kustomize works. With a guard's refusal
// (*policies.RefusalError) it returns the manifests too. A failed render or refusal wins over a
// cluster error: they are the App's problem, not the cluster's.
func (s *Syncer) prepare(ctx context.Context, w work, prefetch bool) (*prepared, error) {
	if w.fetchErr != nil {
		return nil, w.fetchErr
	}
	readCtx, cancelRead := context.WithCancel(ctx)
	defer cancelRead()
	read := make(chan *prepared, 1)
	var readErr error
	go func() {
		p := &prepared{}
		defer func() { read <- p }()
		app := w.app.Metadata.Name
		if p.target, readErr = s.Target(w.cluster); readErr != nil {
			return
		}
		if p.inventory, readErr = clusters.ReadInventory(readCtx, p.target, app); readErr != nil {
			readErr = fmt.Errorf("cluster %s unreachable or refusing: %w", w.cluster.Metadata.Name, readErr)
			return
		}
		if !prefetch {
			return
		}
		if p.schemas, readErr = p.target.LoadSchemas(readCtx); readErr != nil {
			return
		}
		p.schemas.Preload(ctx, inventoryGroupVersions(p.inventory)...)
		p.live = clusters.NewManager(p.target, app).Prefetch(readCtx, p.inventory, clusters.DefaultApplyOptions().Parallelism)
	}()
	manifests, err := w.checkout.Render(ctx, w.app, w.cluster)
	if err != nil {
		cancelRead()
		<-read
		return nil, err
	}
	if err := (policies.PruneGuard{AllowEmpty: w.app.Spec.Sync.AllowEmpty}).CheckRender(len(manifests.Objects)); err != nil {
		cancelRead()
		<-read
		return &prepared{manifests: manifests}, err
	}
	p := <-read
	p.manifests = manifests
	return p, readErr
}

// inventoryGroupVersions are the group-versions of the inventory's objects, or, before the
// first sync, those of the kinds nearly every App has (ConfigMaps, Services, Deployments…).
func inventoryGroupVersions(inv *clusters.Inventory) []schema.GroupVersion {
	if len(inv.Entries) == 0 {
		return []schema.GroupVersion{{Version: "v1"}, {Group: "apps", Version: "v1"}}
	}
	seen := map[schema.GroupVersion]bool{}
	var gvs []schema.GroupVersion
	for _, e := range inv.Entries {
		if gv := e.GroupVersionKind().GroupVersion(); !seen[gv] {
			seen[gv] = true
			gvs = append(gvs, gv)
		}
	}
	return gvs
}
