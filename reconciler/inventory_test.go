package reconciler_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-dev/flotilla/clusters"
	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/reconciler"
)

// TestLargeInventoryRoundTripsThroughTheCluster: the inventory of an App as large as a render
// may be (10,000 objects) is written to a real cluster (gzipped, as kubectl sees) and read back
// the same.
func TestLargeInventoryRoundTripsThroughTheCluster(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	app := fleettest.Namespace(t, c) // a name of its own
	cfg := fleetConfig(fleet, "file:///unused", config.AppSpec{Path: "app"}, app)
	target, err := reconciler.NewSyncer(t.TempDir()).Target(&cfg.Clusters[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = fleettest.KubectlResult(c, "-n", clusters.InventoryNamespace, "delete", "configmap", "inventory-"+app)
	})
	inv := &clusters.Inventory{App: app, Revision: "0123456789abcdef0123456789abcdef01234567", Digest: "sha256:00"}
	for i := range 10_000 {
		inv.Entries = append(inv.Entries, clusters.InventoryEntry{
			ID:      object.ID{Kind: "ConfigMap", Namespace: app, Name: fmt.Sprintf("settings-%05d", i)},
			Version: "v1", Fields: fmt.Sprintf("%x", sha256.Sum256([]byte(fmt.Sprint(i))))[:32],
		})
	}
	if err := clusters.WriteInventory(context.Background(), target, inv); err != nil {
		t.Fatal(err)
	}
	if got := fleettest.Kubectl(t, c, "-n", clusters.InventoryNamespace, "get", "configmap", "inventory-"+app, "-o", "go-template={{len (index .binaryData \"inventory.json.gz\")}}"); len(got) == 0 || got == "0" {
		t.Errorf("kubectl sees no gzipped inventory (%q)", got)
	}
	back, err := clusters.ReadInventory(context.Background(), target, app)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(inv, back); diff != "" {
		t.Errorf("the inventory read back differs (-written +read):\n%s", diff)
	}
}
