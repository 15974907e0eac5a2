package localfleet

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestLockFileSerializesHolders proves what EnsureBinaries relies on to build once: a second
// locker waits, is told it waits, and gets the lock when the first lets go.
func TestLockFileSerializesHolders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "build.lock")
	first, err := tryLockFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tryLockFile(path); !errors.Is(err, errLockHeld) {
		t.Fatalf("second tryLockFile: err = %v, want errLockHeld", err)
	}
	waiting := make(chan struct{})
	acquired := make(chan *fileLock)
	go func() {
		l, err := lockFile(context.Background(), path, func() { close(waiting) })
		if err != nil {
			t.Error(err)
		}
		acquired <- l
	}()
	select {
	case <-waiting:
	case <-time.After(10 * time.Second):
		t.Fatal("the second locker never reported that it waits")
	}
	select {
	case <-acquired:
		t.Fatal("the second locker got the lock while the first held it")
	default:
	}
	first.Unlock()
	select {
	case l := <-acquired:
		l.Unlock()
	case <-time.After(10 * time.Second):
		t.Fatal("the second locker did not get the lock after the first let go")
	}
}

func TestLockFileGivesUpWithContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "build.lock")
	held, err := tryLockFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := lockFile(ctx, path, func() {}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lockFile with an expiring context: err = %v, want DeadlineExceeded", err)
	}
}
