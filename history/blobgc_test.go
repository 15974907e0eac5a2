package history

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestRetainDeletesTheBlobsOnlyDroppedChangesReferTo: when retention drops a revision, the
// blobs only it referred to (its manifest, its own objects and Secrets) go in the same
// transaction; blobs a kept change shares stay, as do blobs stored moments ago for a change
// about to begin; the kept snapshots read back whole and the chain verifies.
func TestRetainDeletesTheBlobsOnlyDroppedChangesReferTo(t *testing.T) {
	ctx := context.Background()
	l, dir := openTest(t)
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return clock }
	revision := func(value string) []*unstructured.Unstructured {
		return []*unstructured.Unstructured{configMap("shared", "same in every revision"), configMap("a", value), secret("db", "password-"+value)}
	}
	addressOf := func(obj *unstructured.Unstructured) string {
		b, err := l.objectBlob(obj)
		if err != nil {
			t.Fatal(err)
		}
		return b.Address
	}
	stored := func(address string) bool {
		t.Helper()
		_, err := l.store.Blob(ctx, address)
		if err != nil && !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	apply := func(value string) *Change {
		t.Helper()
		address, err := l.PutSnapshot(ctx, "sha256:"+value, revision(value))
		if err != nil {
			t.Fatal(err)
		}
		c := change("shop", "east", value, TriggerPoll, "Healthy")
		c.Snapshot, c.Digest = address, "sha256:"+value
		return record(t, l, c)
	}
	first := apply("1")
	second := apply("2")
	blobs := blobCount(t, dir) // shared, 2 × (a, db, manifest)
	if blobs != 7 {
		t.Fatalf("%d blobs stored, want 7", blobs)
	}
	// A render stored for a change about to begin, which only it refers to yet.
	clock = clock.Add(time.Hour)
	pending, err := l.PutSnapshot(ctx, "sha256:3", revision("3"))
	if err != nil {
		t.Fatal(err)
	}

	var archive bytes.Buffer
	if n, err := l.Retain(ctx, Retention{MaxChanges: 1}, &archive); err != nil || n != 2 {
		t.Fatalf("retain: dropped %d entries, %v; want the 2 of the first change", n, err)
	}
	for _, gone := range []string{first.Snapshot, addressOf(configMap("a", "1")), addressOf(secret("db", "password-1"))} {
		if stored(gone) {
			t.Errorf("%s, which only the dropped revision referred to, is still stored", gone)
		}
	}
	for _, kept := range []string{second.Snapshot, addressOf(configMap("shared", "same in every revision")), pending} {
		if !stored(kept) {
			t.Errorf("%s was deleted", kept)
		}
	}
	if got := blobCount(t, dir); got != blobs { // 3 of the pending render in, 3 of the first out
		t.Errorf("%d blobs after retention, want %d", got, blobs)
	}
	if s, err := l.Snapshot(ctx, second.Snapshot); err != nil || len(s.Objects) != 3 {
		t.Errorf("the kept snapshot: %+v, %v; want its 3 objects", s, err)
	}
	if v, err := l.Verify(ctx); err != nil || v.Problem != nil {
		t.Errorf("verify after retention: %+v, %v", v, err)
	}
	// The process stores again what retention deleted (it forgot it had stored it).
	again, err := l.PutSnapshot(ctx, "sha256:1", revision("1"))
	if err != nil {
		t.Fatal(err)
	}
	if s, err := l.Snapshot(ctx, again); err != nil || len(s.Objects) != 3 {
		t.Errorf("revision 1 stored again after retention: %+v, %v", s, err)
	}
	// Past the grace, a snapshot no change refers to goes at the next retention.
	clock = clock.Add(time.Hour)
	apply("4")
	if _, err := l.Retain(ctx, Retention{MaxChanges: 1}, &archive); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{pending, again, second.Snapshot} {
		if stored(gone) {
			t.Errorf("%s, which no kept change refers to, is still stored", gone)
		}
	}
	if got := blobCount(t, dir); got != 4 {
		t.Errorf("%d blobs after the second retention, want 4 (the newest revision's)", got)
	}
}
