package clusters_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/flotilla-dev/flotilla/clusters"
)

// watchedConfigMaps is how many ConfigMaps TestWatchMemory watches.
const watchedConfigMaps = 1000

// TestWatchMemory measures the heap a Watch holds per 1,000 watched ConfigMaps (each with ten
// keys, so managedFields of a realistic size), beside a metadata informer that keeps every
// object's whole metadata, as one without a transform does.
func TestWatchMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("applies 1,000 ConfigMaps")
	}
	c, m, target, ns := setup(t)
	ctx := context.Background()
	docs := make([]string, watchedConfigMaps)
	for i := range docs {
		var data []string
		for k := range 10 {
			data = append(data, fmt.Sprintf("key%d: value-%d-%d", k, i, k))
		}
		docs[i] = configMap(fmt.Sprintf("cm-%04d", i), strings.Join(data, ", "))
	}
	start := time.Now()
	if _, err := m.Apply(ctx, objects(t, ns, docs...), &clusters.Inventory{App: "shop"}, clusters.DefaultApplyOptions()); err != nil {
		t.Fatal(err)
	}
	t.Logf("applied %d ConfigMaps in %v", watchedConfigMaps, time.Since(start).Round(time.Millisecond))

	before := heapInUse()
	watchCtx, cancel := context.WithCancel(ctx)
	w, err := target.Watch(watchCtx, []schema.GroupVersionResource{configMaps}, clusters.WatchOptions{OnDrift: func(clusters.DriftEvent) {}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	held := heapInUse() - before
	objectsHeld := w.Objects()
	cancel()
	<-w.Done()
	if objectsHeld < watchedConfigMaps {
		t.Fatalf("the Watch holds %d objects, want at least %d", objectsHeld, watchedConfigMaps)
	}
	perThousand := held * 1000 / int64(objectsHeld)

	full := fullMetadataHeap(t, c.Config, objectsHeld)
	t.Logf("heap held per 1,000 watched ConfigMaps: %d KiB with the Watch's digest, %d KiB with their whole metadata (%d objects watched)",
		perThousand>>10, full>>10, objectsHeld)
	if perThousand > 1<<20 {
		t.Errorf("a Watch holds %d KiB per 1,000 objects, want at most 1 MiB", perThousand>>10)
	}
}

// fullMetadataHeap is the heap held per 1,000 objects by a metadata informer of ConfigMaps with
// Flotilla's labels and no transform.
func fullMetadataHeap(t *testing.T, config *rest.Config, objects int) int64 {
	t.Helper()
	client, err := metadata.NewForConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	// One request first, so that the connection is not counted.
	if _, err := client.Resource(configMaps).List(context.Background(), metav1.ListOptions{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	before := heapInUse()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	selector := func(o *metav1.ListOptions) {
		o.LabelSelector = clusters.LabelManagedBy + "=" + clusters.ManagedByValue + "," + clusters.LabelApp
	}
	informer := metadatainformer.NewFilteredMetadataInformer(client, configMaps, metav1.NamespaceAll, 0, cache.Indexers{}, selector).Informer()
	go informer.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		t.Fatal("informer not synced")
	}
	held := heapInUse() - before
	runtime.KeepAlive(informer)
	return held * 1000 / int64(objects)
}

// heapInUse is the heap's live bytes after a full collection.
func heapInUse() int64 {
	var stats runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&stats)
	return int64(stats.HeapAlloc)
}
