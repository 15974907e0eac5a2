package render

import (
	"context"
	"sync"

	"github.com/flotilla-dev/flotilla/internal/keylock"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

// Cache reuses a render when a new revision changes nothing it read. Each render records every
// question kustomize asked of the repository (package tree's Trace); a later render of the same
// folder asks them again of the new revision, which costs a few map lookups (and, for Git, no
// file reads at all), and reuses the objects if every answer is the same. A push that touches
// other Apps' folders then costs no kustomize build.
//
// Renders that allow remote bases are never cached: what they download is not traced.
type Cache struct {
	mu      sync.Mutex
	entries map[string][]cacheEntry // by kustomization path, newest first
	// building serialises renders of one path, so that clusters syncing the same path at once
	// build it once and the others find it cached.
	building keylock.Map
	hits     int
	misses   int
}

type cacheEntry struct {
	trace     *tree.Trace
	manifests *Manifests
}

// entriesPerPath bounds the revisions remembered per kustomization path.
const entriesPerPath = 4

// NewCache returns an empty cache.
func NewCache() *Cache {
	return &Cache{entries: map[string][]cacheEntry{}}
}

// Render returns the cached Manifests for dir if a previous render's inputs are unchanged in
// view, and otherwise renders and remembers the result. The returned Manifests are shared:
// callers must not modify them.
func (c *Cache) Render(ctx context.Context, view *tree.FS, dir string) (*Manifests, error) {
	if c == nil || view.RemoteBasesAllowed() {
		return Render(ctx, view, dir)
	}
	defer c.building.Lock(dir)()
	c.mu.Lock()
	candidates := append([]cacheEntry(nil), c.entries[dir]...)
	c.mu.Unlock()
	for _, e := range candidates {
		if e.trace.Matches(view) {
			c.mu.Lock()
			c.hits++
			c.mu.Unlock()
			return e.manifests, nil
		}
	}
	recording, trace := view.Recording()
	m, err := Render(ctx, recording, dir)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.misses++
	list := append([]cacheEntry{{trace: trace, manifests: m}}, c.entries[dir]...)
	if len(list) > entriesPerPath {
		list = list[:entriesPerPath]
	}
	c.entries[dir] = list
	return m, nil
}

// Stats returns how many renders were reused and how many were built.
func (c *Cache) Stats() (hits, misses int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}
