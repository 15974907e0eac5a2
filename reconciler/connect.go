package reconciler

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/internal/object"
)

// clusterState is what a reconcile knows of the cluster before it writes: the client, the
// App's inventory and, for a sync, the live metadata of the inventory's objects and the
// cluster's schemas.
type clusterState struct {
	target    *clusters.Target
	manager   *clusters.Manager
	inventory *clusters.Inventory
	// live is the metadata of the inventory's objects, listed while the revision rendered.
	live *clusters.LiveObjects
	// schemas are the cluster's OpenAPI schemas, to check the render against before applying.
	schemas *clusters.Schemas
	// ids are the render's objects as the cluster names them (a namespaced object without a
	// namespace is in "default"), set by the guard.
	ids []object.ID
	// intended is the inventory written before the first create, if one was (recordIntent).
	intended *clusters.Inventory
}

// written is what the cluster's inventory holds now.
func (c *clusterState) written() *clusters.Inventory {
	if c.intended != nil {
		return c.intended
	}
	return c.inventory
}

// connection is a read of the cluster under way, started before the render so that the
// cluster's answers arrive, and are parsed, while kustomize works.
type connection struct {
	cancel context.CancelFunc
	done   chan struct{}
	state  *clusterState
	err    error
}

// reading is what connect reads of the cluster.
type reading int

const (
	// readInventory: the client and the App's inventory, what a diff needs.
	readInventory reading = iota
	// readForApply: also what the inventory's objects look like now, and the cluster's schemas
	// of their kinds, what a sync needs before it applies.
	readForApply
)

// connect starts reading the cluster (see reading) in the background.
func (r *run) connect(ctx context.Context, what reading) *connection {
	readCtx, cancel := context.WithCancel(ctx)
	c := &connection{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.state, c.err = r.readCluster(ctx, readCtx, what)
	}()
	return c
}

func (r *run) readCluster(ctx, readCtx context.Context, what reading) (*clusterState, error) {
	target, err := r.syncer.Target(r.key.Cluster)
	if err != nil {
		return nil, err
	}
	app := r.key.App.Metadata.Name
	st := &clusterState{target: target, manager: clusters.NewManager(target, app)}
	st.manager.Namespace = r.key.App.Spec.Namespace
	if st.inventory, err = clusters.ReadInventory(readCtx, target, app); err != nil {
		return nil, fmt.Errorf("cluster %s unreachable or refusing: %w", r.key.Cluster.Metadata.Name, err)
	}
	if what != readForApply {
		return st, nil
	}
	if st.schemas, err = target.LoadSchemas(readCtx); err != nil {
		return nil, err
	}
	// Parsed documents are shared with later passes and other clusters: not cancelled with
	// this read.
	st.schemas.Preload(ctx, inventoryGroupVersions(st.inventory)...)
	st.live = st.manager.Prefetch(readCtx, st.inventory)
	return st, nil
}

// wait returns what the read found.
func (c *connection) wait() (*clusterState, error) {
	<-c.done
	c.cancel()
	return c.state, c.err
}

// abandon stops the read, when the render failed and nothing will be applied.
func (c *connection) abandon() {
	c.cancel()
	<-c.done
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
