package clusters

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	"github.com/flotilla-dev/flotilla/internal/object"
)

// DriftEvent is a change to a managed object that Flotilla did not make.
type DriftEvent struct {
	// Cluster is the Target's name.
	Cluster string
	// App is the object's flotilla.dev/app label (before the change, if the change was to it).
	App string
	// ID names the object.
	ID object.ID
	// Manager is the field manager that made the change: the one whose managedFields entry the
	// change added, gave a new time or grew ("kubectl" for kubectl scale, "kubectl-label",
	// "kubectl-edit", the --field-manager of kubectl patch); "" if unknown, as for a deletion.
	// managedFields times are in seconds: a manager that writes again within the second of its
	// last write is found only as the newest entry.
	Manager string
	// Operation is the manager's operation, with its subresource if any: "Update", "Apply",
	// "Update/scale", "Update/status" (a status write that changed labels or annotations, as
	// the Deployment controller's revision annotation); "" for a deletion.
	Operation string
	// OwnedFieldsChanged: the fields Flotilla's apply owns changed (ownedFields, the test a sync
	// uses to decide whether an object needs a write). A change that leaves them alone, such as
	// kube-controller-manager updating a Deployment's deployment.kubernetes.io/revision
	// annotation, is reported with false: there is nothing to heal. Always true for an object
	// that appeared without Flotilla writing it (created by someone else with Flotilla's labels,
	// or given back the labels), and for a deletion.
	OwnedFieldsChanged bool
	// Fields are the fields the Manager's managedFields entry holds after a change of
	// Flotilla's fields (".data.value", `.spec.containers[name="web"].image`, see FieldPaths):
	// what it took. Read with one GET when the change is seen; nil for a deletion, an unknown
	// manager, or when Flotilla took the fields back before the GET.
	Fields []string
	// Deleted: the object is gone. Nothing tells who deleted it, Flotilla's own prunes included
	// (the caller knows those from the inventory). An object that only lost Flotilla's labels is
	// not deleted: it is reported as changed by the manager that took them off.
	Deleted bool
	// Resync: a drift of Flotilla's fields reported before and still not taken back, reported
	// again after WatchOptions.ResyncPeriod.
	Resync bool
	// Seen is when the Watch noticed the change.
	Seen time.Time
}

// WatchOptions tune Watch; DefaultWatchOptions() gives the defaults.
type WatchOptions struct {
	// OnDrift is called for each change Flotilla did not make (required). It is called from the
	// watch goroutines, one per resource, possibly at the same time for different resources, and
	// must not block long: events of its resource wait meanwhile.
	OnDrift func(DriftEvent)
	// OnError, when set, is told why a watch failed (it is then restarted, see Restarts), from
	// the watch goroutines.
	OnError func(schema.GroupVersionResource, error)
	// ResyncPeriod, when not 0, reports again, that often, every drift of Flotilla's fields that
	// Flotilla has not taken back since (DriftEvent.Resync), such as one in an App whose
	// drift.mode only warns, or whose heal failed. It costs no requests (it reads the cache).
	ResyncPeriod time.Duration
	// DeleteCheckTimeout bounds the GET that tells, when an object leaves the watch, whether it
	// was deleted or only lost Flotilla's labels.
	DeleteCheckTimeout time.Duration
}

// DefaultWatchOptions: no resync, 10 seconds for a delete check.
func DefaultWatchOptions() WatchOptions {
	return WatchOptions{DeleteCheckTimeout: 10 * time.Second}
}

// watchSelector selects what Flotilla manages for an App: its inventory ConfigMaps and the
// flotilla-system Namespace carry the managed-by label but no App, and are left out.
const watchSelector = LabelManagedBy + "=" + ManagedByValue + "," + LabelApp

// Watch reports drift on one Target: a metadata-only informer per resource, filtered by
// Flotilla's labels. Make it with Target.Watch; it stops when the context given there ends.
type Watch struct {
	target *Target
	opts   WatchOptions
	ctx    context.Context

	mu        sync.Mutex
	resources map[schema.GroupVersionResource]*resourceWatch
	stopped   bool
	running   sync.WaitGroup
	done      chan struct{}
	restarts  atomic.Int64
}

// resourceWatch is the informer of one resource.
type resourceWatch struct {
	w            *Watch
	gvr          schema.GroupVersionResource
	kind         objectKind
	informer     cache.SharedIndexInformer
	registration cache.ResourceEventHandlerRegistration
	cancel       context.CancelFunc
}

// objectKind is the group and kind of a watched resource's objects, and whether the resource
// has a status subresource.
type objectKind struct {
	group, kind string
	status      bool
}

func (k objectKind) of(obj *watched) object.ID {
	return object.ID{Group: k.group, Kind: k.kind, Namespace: obj.Namespace, Name: obj.Name}
}

// Watch starts metadata-only informers (k8s.io/client-go/metadata/metadatainformer) on the
// Target for the given resources, filtered by Flotilla's labels (app.kubernetes.io/managed-by=
// flotilla and a flotilla.dev/app label), and reports drift to opts.OnDrift until ctx ends.
// Each informer keeps only a digest of each object's metadata (about 0.6 KiB per object). What the
// first list finds is not drift: the sync that follows a start compares it with the inventory.
// It fails, starting nothing, if OnDrift is nil or a resource is not served (see SetResources).
func (t *Target) Watch(ctx context.Context, resources []schema.GroupVersionResource, opts WatchOptions) (*Watch, error) {
	if opts.OnDrift == nil {
		return nil, errors.New("watch: WatchOptions.OnDrift is required")
	}
	if opts.DeleteCheckTimeout <= 0 {
		opts.DeleteCheckTimeout = DefaultWatchOptions().DeleteCheckTimeout
	}
	kinds, err := t.watchKinds(resources)
	if err != nil {
		return nil, err
	}
	w := &Watch{target: t, opts: opts, ctx: ctx, resources: map[schema.GroupVersionResource]*resourceWatch{}, done: make(chan struct{})}
	w.setResources(kinds)
	go func() {
		<-ctx.Done()
		w.mu.Lock()
		w.stopped = true
		w.mu.Unlock()
		w.running.Wait()
		close(w.done)
	}()
	return w, nil
}

// watchKinds finds the kind of each resource, refreshing discovery once for a resource it does
// not know (a CRD applied moments ago), and whether it has a status subresource.
func (t *Target) watchKinds(resources []schema.GroupVersionResource) (map[schema.GroupVersionResource]objectKind, error) {
	kinds := make(map[schema.GroupVersionResource]objectKind, len(resources))
	subresources := map[schema.GroupVersion]map[string]bool{}
	var errs []error
	for _, gvr := range resources {
		gvk, err := t.mapper.KindFor(gvr)
		if err != nil {
			t.mapper.Reset()
			gvk, err = t.mapper.KindFor(gvr)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("Cluster/%s: watch %s: %w", t.Name, gvrString(gvr), err))
			continue
		}
		gv := gvr.GroupVersion()
		if _, ok := subresources[gv]; !ok {
			subresources[gv] = t.subresources(gv)
		}
		names := subresources[gv]
		kinds[gvr] = objectKind{group: gvk.Group, kind: gvk.Kind, status: names == nil || names[gvr.Resource+"/status"]}
	}
	return kinds, errors.Join(errs...)
}

// subresources lists the resources and subresources ("deployments/status") that the cluster
// serves in a group version; nil when discovery fails (every resource is then taken to have a
// status).
func (t *Target) subresources(gv schema.GroupVersion) map[string]bool {
	list, err := t.discovery.ServerResourcesForGroupVersion(gv.String())
	if err != nil {
		return nil
	}
	names := make(map[string]bool, len(list.APIResources))
	for _, r := range list.APIResources {
		names[r.Name] = true
	}
	return names
}

// gvrString is "deployments.v1.apps", "configmaps.v1".
func gvrString(gvr schema.GroupVersionResource) string {
	s := gvr.Resource + "." + gvr.Version
	if gvr.Group != "" {
		s += "." + gvr.Group
	}
	return s
}

// SetResources makes the Watch watch exactly these resources, as the Apps' inventories change:
// an informer is started for each new one and stopped for each one no longer given. A resource
// the cluster does not serve is not watched, and the returned error names it; the others are
// set all the same. After the Watch stopped it does nothing.
func (w *Watch) SetResources(resources []schema.GroupVersionResource) error {
	if w.ctx.Err() != nil {
		return nil
	}
	kinds, err := w.target.watchKinds(resources)
	for _, gvr := range resources {
		if _, ok := kinds[gvr]; !ok {
			w.mu.Lock()
			if rw := w.resources[gvr]; rw != nil { // known before: keep watching it
				kinds[gvr] = rw.kind
			}
			w.mu.Unlock()
		}
	}
	w.setResources(kinds)
	return err
}

func (w *Watch) setResources(kinds map[schema.GroupVersionResource]objectKind) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped || w.ctx.Err() != nil {
		return
	}
	for gvr, rw := range w.resources {
		if _, keep := kinds[gvr]; !keep {
			rw.cancel()
			delete(w.resources, gvr)
		}
	}
	for gvr, kind := range kinds {
		if _, ok := w.resources[gvr]; !ok {
			w.resources[gvr] = w.start(gvr, kind)
		}
	}
}

// start runs the informer of one resource until the Watch stops or SetResources drops it.
// Called with w.mu held.
func (w *Watch) start(gvr schema.GroupVersionResource, kind objectKind) *resourceWatch {
	ctx, cancel := context.WithCancel(w.ctx)
	selector := func(o *metav1.ListOptions) { o.LabelSelector = watchSelector }
	informer := metadatainformer.NewFilteredMetadataInformer(w.target.metadata, gvr, metav1.NamespaceAll, w.opts.ResyncPeriod, cache.Indexers{}, selector).Informer()
	rw := &resourceWatch{w: w, gvr: gvr, kind: kind, informer: informer, cancel: cancel}
	// Neither can fail before the informer runs.
	_ = informer.SetTransform(digest)
	_ = informer.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		if errors.Is(err, io.EOF) {
			return // closed normally: the reflector watches again from where it was
		}
		w.restarts.Add(1)
		if w.opts.OnError != nil {
			w.opts.OnError(gvr, err)
		}
	})
	rw.registration, _ = informer.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		AddFunc:    rw.onAdd,
		UpdateFunc: func(oldObj, newObj any) { rw.onUpdate(ctx, oldObj, newObj) },
		DeleteFunc: func(obj any) { rw.onDelete(ctx, obj) },
	})
	w.running.Add(1)
	go func() {
		defer w.running.Done()
		informer.RunWithContext(ctx)
	}()
	return rw
}

// Synced reports whether every informer has listed its resource once and delivered what it
// found: the Watch sees every change from then on. True with no resources.
func (w *Watch) Synced() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, rw := range w.resources {
		if !rw.registration.HasSynced() {
			return false
		}
	}
	return true
}

// WaitSynced waits until Synced, or ctx or the Watch ends (then it returns the context's error,
// or an error saying the Watch stopped).
func (w *Watch) WaitSynced(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !w.Synced() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("watch of Cluster/%s not synced: %w", w.target.Name, ctx.Err())
		case <-w.done:
			return fmt.Errorf("watch of Cluster/%s stopped before it synced", w.target.Name)
		case <-tick.C:
		}
	}
	return nil
}

// Restarts counts the watches that failed and were started again (with a new list when the
// API server no longer had their resourceVersion), over the Watch's life. A watch the API
// server closes normally after its timeout and that resumes where it was is not counted.
func (w *Watch) Restarts() int64 { return w.restarts.Load() }

// Resources returns the watched resources, sorted.
func (w *Watch) Resources() []schema.GroupVersionResource {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]schema.GroupVersionResource, 0, len(w.resources))
	for gvr := range w.resources {
		out = append(out, gvr)
	}
	sort.Slice(out, func(i, j int) bool { return gvrString(out[i]) < gvrString(out[j]) })
	return out
}

// Objects counts the objects the Watch holds (what Flotilla manages on the cluster, in the
// watched resources), for a metric.
func (w *Watch) Objects() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, rw := range w.resources {
		n += len(rw.informer.GetStore().ListKeys())
	}
	return n
}

// Done is closed once the context given to Target.Watch ended and every informer has stopped:
// no OnDrift call happens after.
func (w *Watch) Done() <-chan struct{} { return w.done }

// WatchResources returns the resources that the inventories' objects live in, to watch: one
// per kind, sorted. A kind the cluster no longer serves is left out and named in the error.
func (t *Target) WatchResources(invs ...*Inventory) ([]schema.GroupVersionResource, error) {
	seen := map[schema.GroupVersionKind]bool{}
	set := map[schema.GroupVersionResource]bool{}
	var errs []error
	for _, inv := range invs {
		for _, e := range inv.Entries {
			gvk := e.GroupVersionKind()
			if seen[gvk] {
				continue
			}
			seen[gvk] = true
			m, err := t.mapping(gvk)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", e.ID, err))
				continue
			}
			set[m.Resource] = true
		}
	}
	out := make([]schema.GroupVersionResource, 0, len(set))
	for gvr := range set {
		out = append(out, gvr)
	}
	sort.Slice(out, func(i, j int) bool { return gvrString(out[i]) < gvrString(out[j]) })
	return out, errors.Join(errs...)
}
