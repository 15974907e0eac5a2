package localfleet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// fileLock is an exclusive flock(2) on a file. The kernel drops it when the holder exits,
// however it exits, so a crashed holder never leaves a stale lock behind.
type fileLock struct{ f *os.File }

// errLockHeld is returned by tryLockFile when another process holds the lock.
var errLockHeld = errors.New("lock is held by another process")

// tryLockFile takes the lock at path or fails at once with errLockHeld.
func tryLockFile(path string) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, errLockHeld
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &fileLock{f: f}, nil
}

// lockFile waits for the lock at path until ctx ends, calling onWait once if it has to wait.
func lockFile(ctx context.Context, path string, onWait func()) (*fileLock, error) {
	waited := false
	for {
		l, err := tryLockFile(path)
		if !errors.Is(err, errLockHeld) {
			return l, err
		}
		if !waited {
			waited = true
			onWait()
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for lock %s: %w", path, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Unlock releases the lock.
func (l *fileLock) Unlock() {
	if l == nil || l.f == nil {
		return
	}
	_ = unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	_ = l.f.Close()
	l.f = nil
}
