package clusters

import (
	"context"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"time"
	"unique"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"
)

// watched is what a Watch keeps of one object in its informer's cache (see digest): identity,
// resourceVersion, generation and deletionTimestamp in ObjectMeta, the rest of the metadata as
// digests: with the informer's own bookkeeping, about 0.6 KiB per object where one that keeps the
// whole metadata takes 1.7 KiB for a small ConfigMap, and more the more managers wrote it.
type watched struct {
	metav1.ObjectMeta
	// app is the object's flotilla.dev/app label; namespace holds ObjectMeta.Namespace's
	// canonical copy, shared by the objects of a namespace.
	app, namespace unique.Handle[string]
	// owned is ownedFields' fingerprint of Flotilla's Apply entry, zero when there is none.
	owned [16]byte
	// meta hashes the labels and annotations.
	meta uint64
	// entries are the managedFields entries.
	entries []fieldsEntry
	// drift is the last drift of Flotilla's fields reported and not yet taken back by Flotilla,
	// for ResyncPeriod to report again. Only the Watch's event handler goroutine of the
	// object's resource reads and writes it.
	drift *DriftEvent
}

// GetObjectKind implements runtime.Object: a watched object has no kind of its own.
func (w *watched) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject implements runtime.Object.
func (w *watched) DeepCopyObject() runtime.Object {
	out := *w
	w.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	out.entries = slices.Clone(w.entries)
	return &out
}

// fieldsEntry is a managedFields entry reduced to what tells who wrote an object.
type fieldsEntry struct {
	manager unique.Handle[string]
	// operation is "Update", "Apply", or with its subresource "Update/scale".
	operation unique.Handle[string]
	// time is the entry's time in Unix seconds (the API server's resolution), 0 when unset.
	time int64
	// fields hashes the entry's API version and field set, size is the field set's length.
	fields uint64
	size   int
	// status: the entry is of the status subresource.
	status bool
}

// flotilla tells an entry of Flotilla's own (an apply, or the update that heals a list).
func (e fieldsEntry) flotilla() bool { return e.manager.Value() == FieldManager }

// digest is the transform of a Watch's informers: it reduces the metadata the API server sends
// to a watched object. Objects already reduced pass as they are.
func digest(obj any) (any, error) {
	switch o := obj.(type) {
	case *watched, cache.DeletedFinalStateUnknown:
		return obj, nil
	case *metav1.PartialObjectMetadata:
		return reduce(o), nil
	}
	return nil, fmt.Errorf("unexpected object %T in a metadata watch", obj)
}

// reduce keeps of obj what drift detection needs.
func reduce(obj *metav1.PartialObjectMetadata) *watched {
	namespace := unique.Make(obj.Namespace)
	w := &watched{
		ObjectMeta: metav1.ObjectMeta{
			Name: obj.Name, Namespace: namespace.Value(), UID: obj.UID,
			ResourceVersion: obj.ResourceVersion, Generation: obj.Generation,
			DeletionTimestamp: obj.DeletionTimestamp,
		},
		app:       unique.Make(obj.Labels[LabelApp]),
		namespace: namespace,
		meta:      hashMaps(obj.Labels, obj.Annotations),
	}
	if fp := ownedFields(obj); fp != "" {
		_, _ = hex.Decode(w.owned[:], []byte(fp))
	}
	for _, e := range obj.ManagedFields {
		op := string(e.Operation)
		if e.Subresource != "" {
			op += "/" + e.Subresource
		}
		h := fnv.New64a()
		h.Write([]byte(e.APIVersion))
		h.Write([]byte{0})
		raw := e.FieldsV1.GetRawBytes() // nil-safe
		h.Write(raw)
		size := len(raw)
		entry := fieldsEntry{manager: unique.Make(e.Manager), operation: unique.Make(op), fields: h.Sum64(), size: size, status: e.Subresource == "status"}
		if e.Time != nil {
			entry.time = e.Time.Unix()
		}
		w.entries = append(w.entries, entry)
	}
	return w
}

// hashMaps hashes labels and annotations, in key order.
func hashMaps(maps ...map[string]string) uint64 {
	h := fnv.New64a()
	for _, m := range maps {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(h, "%s\x00%s\x00", k, m[k])
		}
		h.Write([]byte{1})
	}
	return h.Sum64()
}

// find returns the entry of a manager and operation.
func (w *watched) find(manager, operation unique.Handle[string]) (fieldsEntry, bool) {
	for _, e := range w.entries {
		if e.manager == manager && e.operation == operation {
			return e, true
		}
	}
	return fieldsEntry{}, false
}

// changed reports whether anything but the status changed between old and new: a managedFields
// entry other than a status one, the generation, labels or annotations. A controller's status
// updates (and the resourceVersion they bump) change none of these. A manager that writes the
// same fields again within the second of its last write (managedFields times are in seconds)
// changes none of them either on an object without generation (a ConfigMap, a Service): for a
// resource without a status subresource, a new resourceVersion is a change all the same.
func (rw *resourceWatch) changed(old, new *watched) bool {
	return changed(old, new) || (!rw.kind.status && old.ResourceVersion != new.ResourceVersion)
}

// changed reports whether a managedFields entry other than a status one, the generation, labels
// or annotations changed.
func changed(old, new *watched) bool {
	if old.Generation != new.Generation || old.meta != new.meta {
		return true
	}
	n := 0
	for _, e := range new.entries {
		if e.status {
			continue
		}
		n++
		if o, ok := old.find(e.manager, e.operation); !ok || o != e {
			return true
		}
	}
	for _, e := range old.entries {
		if !e.status {
			n--
		}
	}
	return n != 0
}

// writer finds the managedFields entry of the manager that made the change from old (nil for
// an object that appeared) to new. A write sets the writer's entry time to now and may add
// fields to it; every other manager can only lose fields, keeping its time. So the writer is the
// newest entry that is new, has a new time, or whose field set changed without shrinking; a
// status entry only if no other is (a status write that changed the metadata, such as the
// Deployment controller's revision annotation). When no entry changed that way (a manager
// writing again within the second of its last write, which managedFields cannot tell apart), it
// is the newest entry other than a status one. Between entries of the same second, another
// manager's is preferred to Flotilla's: reporting a change Flotilla made is harmless (its owned
// fields did not change), missing someone else's is not.
func writer(old, new *watched) (fieldsEntry, bool) {
	wrote := func(e fieldsEntry) bool {
		if old == nil {
			return true
		}
		o, had := old.find(e.manager, e.operation)
		return !had || e.time != o.time || (e.fields != o.fields && e.size >= o.size)
	}
	if w, ok := newest(new.entries, func(e fieldsEntry) bool { return !e.status && wrote(e) }); ok {
		return w, true
	}
	if w, ok := newest(new.entries, func(e fieldsEntry) bool { return e.status && wrote(e) }); ok {
		return w, true
	}
	return newest(new.entries, func(e fieldsEntry) bool { return !e.status })
}

// newest returns the newest entry that matches, another manager's before Flotilla's in the
// same second.
func newest(entries []fieldsEntry, match func(fieldsEntry) bool) (fieldsEntry, bool) {
	var best fieldsEntry
	found := false
	for _, e := range entries {
		if match(e) && (!found || e.time > best.time || (e.time == best.time && best.flotilla() && !e.flotilla())) {
			best, found = e, true
		}
	}
	return best, found
}

// event is the drift event of a change to obj by the writer w (unknown when !ok).
func event(cluster string, id objectKind, obj *watched, w fieldsEntry, ok bool) DriftEvent {
	ev := DriftEvent{Cluster: cluster, App: obj.app.Value(), ID: id.of(obj), Seen: time.Now()}
	if ok {
		ev.Manager, ev.Operation = w.manager.Value(), w.operation.Value()
	}
	return ev
}

// report hands an event to OnDrift.
func (rw *resourceWatch) report(ev DriftEvent) { rw.w.opts.OnDrift(ev) }

// onAdd: an object appeared. Those of the first list are not drift, nor one Flotilla created;
// one created by someone else with Flotilla's labels, or given them back, is.
func (rw *resourceWatch) onAdd(obj any, isInInitialList bool) {
	o, ok := obj.(*watched)
	if !ok || isInInitialList {
		return
	}
	w, found := writer(nil, o)
	if found && w.flotilla() {
		return
	}
	ev := event(rw.w.target.Name, rw.kind, o, w, found)
	ev.OwnedFieldsChanged = true
	rw.report(ev)
}

// onUpdate: an object changed, or the informer resynced it (same resourceVersion).
func (rw *resourceWatch) onUpdate(ctx context.Context, oldObj, newObj any) {
	old, ok1 := oldObj.(*watched)
	o, ok2 := newObj.(*watched)
	if !ok1 || !ok2 {
		return
	}
	if old.ResourceVersion == o.ResourceVersion {
		if o.drift != nil {
			ev := *o.drift
			ev.Resync, ev.Seen = true, time.Now()
			rw.report(ev)
		}
		return
	}
	o.drift = old.drift
	if ev, ok := rw.changeOf(old, o); ok {
		if ev.OwnedFieldsChanged {
			if ev.Manager != "" {
				ev.Fields = rw.fieldsOf(ctx, o, ev.Manager, ev.Operation)
			}
			o.drift = &ev
		}
		rw.report(ev)
	} else if w, found := writer(old, o); found && w.flotilla() && rw.changed(old, o) {
		o.drift = nil // Flotilla wrote its fields again
	}
}

// changeOf is the drift event of the change from old to o, if it is one: not while the object
// is being deleted (its deletion is reported when it is gone), not a status update, not a
// write of Flotilla's.
func (rw *resourceWatch) changeOf(old, o *watched) (DriftEvent, bool) {
	if o.DeletionTimestamp != nil || !rw.changed(old, o) {
		return DriftEvent{}, false
	}
	w, found := writer(old, o)
	if found && w.flotilla() {
		return DriftEvent{}, false
	}
	ev := event(rw.w.target.Name, rw.kind, o, w, found)
	ev.App = old.app.Value()
	ev.OwnedFieldsChanged = old.owned != o.owned
	return ev, true
}

// releasedByFlotilla tells the release at a prune of an object annotated flotilla.dev/prune:
// disabled (see Manager.release): it loses Flotilla's labels and every managedFields entry of
// Flotilla's, in a write whose own entry managedFields does not show.
func releasedByFlotilla(old, o *watched, labels map[string]string) bool {
	has := func(w *watched) bool {
		return slices.ContainsFunc(w.entries, fieldsEntry.flotilla)
	}
	_, labelled := labels[LabelManagedBy]
	return !labelled && has(old) && !has(o)
}

// onDelete: an object left the watch, deleted or no longer labelled as Flotilla's (the watch
// cannot tell: its event carries the object as it was). A GET tells them apart; an object that
// only lost its labels is reported as changed by whoever took them off (nothing when Flotilla
// released it at a prune).
func (rw *resourceWatch) onDelete(ctx context.Context, obj any) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	old, ok := obj.(*watched)
	if !ok {
		return
	}
	check, cancel := context.WithTimeout(ctx, rw.w.opts.DeleteCheckTimeout)
	defer cancel()
	live, err := rw.w.target.metadata.Resource(rw.gvr).Namespace(old.Namespace).Get(check, old.Name, metav1.GetOptions{})
	switch {
	case err == nil && live.UID == old.UID:
		o := reduce(live)
		if releasedByFlotilla(old, o, live.Labels) {
			return
		}
		if ev, ok := rw.changeOf(old, o); ok {
			rw.report(ev)
		}
		return
	case err != nil && !apierrors.IsNotFound(err) && ctx.Err() != nil:
		return // the watch is stopping
	}
	// Gone (or unknown: a failed check reports a deletion, which a sync sorts out).
	ev := event(rw.w.target.Name, rw.kind, old, fieldsEntry{}, false)
	ev.Deleted, ev.OwnedFieldsChanged = true, true
	rw.report(ev)
}
