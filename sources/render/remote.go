package render

import (
	"context"
	"fmt"
	"time"

	"github.com/flotilla-dev/flotilla/sources/tree"
)

// maxRemoteRounds bounds how deep remote bases may name further remote bases.
const maxRemoteRounds = 5

// maxRemoteReferences bounds the remote references one render may fetch.
const maxRemoteReferences = 50

// maxRemoteTime bounds the time one render spends fetching, all fetches together (each also
// has the Fetcher's own timeout). A variable for tests.
var maxRemoteTime = 2 * time.Minute

// withRemote checks the kustomizations under dir and, for a view that allows remote bases,
// fetches what they name outside the repository, round after round (a fetched base may name
// more), and returns the view to render from: view itself when nothing is remote. Every byte
// fetched counts against the view's MaxTotalBytes, as the bytes read do, and all fetches
// together end after maxRemoteTime. reading is given each view before it is checked, so that
// the caller can abandon it when ctx ends.
func withRemote(ctx context.Context, view *tree.FS, dir string, reading func(*tree.FS)) (*tree.FS, error) {
	fetchedSoFar := 0
	overdue := fmt.Errorf("remote fetches of one render took more than %s; stopped", maxRemoteTime)
	fetchCtx, cancel := context.WithTimeoutCause(ctx, maxRemoteTime, overdue)
	defer cancel()
	for round := 0; ; round++ {
		reading(view)
		if ctx.Err() != nil {
			return nil, stopped(ctx)
		}
		refs, err := view.CheckKustomizations(dir)
		if err != nil || len(refs) == 0 {
			return view, err
		}
		fetcher := view.RemoteFetcher()
		switch {
		case fetcher == nil:
			return nil, fmt.Errorf("%s: %s: remote bases are allowed but nothing can fetch them", refs[0].File, refs[0].Field)
		case round == maxRemoteRounds:
			return nil, fmt.Errorf("%s: %s: remote bases name further remote bases more than %d levels deep", refs[0].File, refs[0].Field, maxRemoteRounds)
		case fetchedSoFar+len(refs) > maxRemoteReferences:
			return nil, fmt.Errorf("%s: %s: more than %d remote references in one render", refs[0].File, refs[0].Field, maxRemoteReferences)
		}
		fetchedSoFar += len(refs)
		fetched := make([]tree.Fetched, 0, len(refs))
		// The round's downloads so far: WithFetched charges them to the view at the end of the
		// round, and until then each fetch gets only what the ones before it left.
		var roundBytes int64
		for _, ref := range refs {
			limits := view.Limits()
			limits.MaxTotalBytes -= view.Stats().BytesRead + roundBytes
			f, err := fetcher.Fetch(fetchCtx, ref, limits)
			if err != nil && ctx.Err() == nil && context.Cause(fetchCtx) == overdue {
				err = overdue // the render's deadline, not the fetch's own timeout
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", ref.File, ref.Field, err)
			}
			f.Ref = ref
			roundBytes += max(f.Bytes, int64(len(f.File)))
			fetched = append(fetched, f)
		}
		if view, err = view.WithFetched(fetched); err != nil {
			return nil, err
		}
	}
}
