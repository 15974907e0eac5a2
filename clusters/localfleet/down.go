package localfleet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// DownOptions say what Down leaves in the fleet's folder.
type DownOptions struct {
	// Keep names entries of the fleet's folder (files or folders directly in it) that Down
	// leaves in place, such as the quickstart's example repository. While one of them exists,
	// the folder and its marker stay too, so that a later fleet can use the folder again. With
	// none, Down removes the whole folder.
	Keep []string
}

// DownResult says what Down did.
type DownResult struct {
	// Stopped says whether the folder held a fleet, which is now stopped; false when only
	// what an earlier Down kept was left.
	Stopped bool
	// Kept are the absolute paths of the entries of DownOptions.Keep that exist and stay.
	Kept []string
}

// Down stops the fleet in dir and removes the folder, except what opts keeps. The process holding
// the fleet (a `flotilla fleet up` supervisor, or a test binary) gets SIGTERM, then SIGKILL; its
// cluster processes die with it, and any recorded process still alive after that is killed
// too. Down returns ErrNoFleet if dir is not a fleet folder.
func Down(ctx context.Context, dir string, opts DownOptions) (*DownResult, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if !isFleetDir(abs) {
		return nil, fmt.Errorf("%s: %w", abs, ErrNoFleet)
	}
	s, err := readState(abs)
	if err != nil && !errors.Is(err, ErrNoFleet) {
		return nil, err
	}
	if s != nil && s.Holder.PID == os.Getpid() {
		return nil, fmt.Errorf("%s: the fleet is held by this process; stop it with Fleet.Stop", abs)
	}
	if s != nil {
		if err := s.Holder.kill(30 * time.Second); err != nil {
			return nil, fmt.Errorf("stop fleet holder: %w", err)
		}
	}
	// A holder that was still starting the fleet has written no state yet: wait for its lock.
	lock, err := lockFile(ctx, filepath.Join(abs, lockFileName), func() {})
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	if s != nil {
		var errs []error
		for _, p := range s.processes() {
			errs = append(errs, p.kill(10*time.Second))
		}
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	}
	res := &DownResult{Stopped: s != nil}
	for _, name := range opts.Keep {
		if _, err := os.Lstat(filepath.Join(abs, name)); err == nil {
			res.Kept = append(res.Kept, filepath.Join(abs, name))
		}
	}
	if len(res.Kept) == 0 {
		return res, removeDir(abs)
	}
	return res, removeAllBut(abs, append([]string{markerFile}, opts.Keep...))
}

// removeAllBut empties a fleet folder except for the named entries.
func removeAllBut(dir string, keep []string) error {
	if !isFleetDir(dir) {
		return fmt.Errorf("refusing to clear %s: it holds no %s marker", dir, markerFile)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("clear fleet folder: %w", err)
	}
	for _, e := range entries {
		if slices.Contains(keep, e.Name()) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("clear fleet folder: %w", err)
		}
	}
	return nil
}
