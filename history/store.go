package history

import (
	"context"
	"errors"
	"time"
)

// Phase says which half of a change an entry holds.
type Phase string

// Phases.
const (
	// PhaseBegin is written before a change writes to a cluster: who, why, which revision.
	PhaseBegin Phase = "begin"
	// PhaseEnd is written once it is over: the result and what it did to each object.
	PhaseEnd Phase = "end"
)

// Entry is one row of the ledger. The columns a query filters on are copied out of Body (the
// JSON of the phase's half of a Change), and every column is sealed.
type Entry struct {
	// Seq is the entry's place in the ledger: 1, 2, 3, … with no gaps.
	Seq int64
	// Change is the ID of the change the entry belongs to: the Seq of its begin entry.
	Change  int64
	Phase   Phase
	At      time.Time
	App     string
	Cluster string
	Trigger Trigger
	// Revision is the commit; Author names its author, committer and the actor.
	Revision, Author string
	// Result is "Running" in begin entries.
	Result Result
	Body   []byte
	// PrevSeal is the seal of the entry before (the anchor's for the first kept entry); Seal
	// is this entry's (see Sealer).
	PrevSeal, Seal string
}

// EntryFilter selects entries. Zero fields select everything.
type EntryFilter struct {
	Phase        Phase
	App, Cluster string
	Since, Until time.Time
	Author       string
	Revision     string
	Trigger      Trigger
	// Changes selects the entries of these changes.
	Changes []int64
	// Results selects entries with one of these results.
	Results []Result
	// Unfinished selects begin entries whose change has no end entry.
	Unfinished bool
	// SeqFrom selects entries from this seq on; SeqBefore (when not 0) those before it.
	SeqFrom, SeqBefore int64
	// Limit bounds how many come back, newest first; 0 is no bound.
	Limit int
}

// Pair is an App on a cluster.
type Pair struct {
	App, Cluster string
}

// Blob is content stored once under its address (see snapshot.go).
type Blob struct {
	Address string
	Data    []byte
}

// Pin keeps an App × Cluster on a recorded revision instead of the Source's head: after a
// rollback, until the Source moves past Head or someone unpins it.
type Pin struct {
	App     string `json:"app"`
	Cluster string `json:"cluster"`
	// Change is the rollback that pinned it; Snapshot and Revision are what it restored.
	Change   int64    `json:"change"`
	Snapshot string   `json:"snapshot"`
	Digest   string   `json:"digest"`
	Revision Revision `json:"revision"`
	// Head is the Source's commit when it was pinned: another commit unpins, unless its render
	// for the pair is HeadDigest's (a commit that leaves the App alone, in a repository other
	// Apps share).
	Head       string `json:"head"`
	HeadDigest string `json:"headDigest,omitempty"`
	// Auto says the agent pinned it after Head failed health (Head is marked bad).
	Auto   bool      `json:"auto,omitempty"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since"`
	// Seal is the pin's HMAC under the ledger key: a pin row someone put in the database
	// without the key is refused.
	Seal string `json:"seal,omitempty"`
}

// Store keeps the ledger's entries, blobs and pins. Implementations: SQLite (OpenSQLite).
type Store interface {
	// Append adds e at the end: it sets e.Seq to the next number (and e.Change to it for a
	// begin entry), e.PrevSeal to the seal of the entry before, e.Seal with the sealer, and
	// moves the head mark to e, in one transaction, so that two appends (two processes, even)
	// never share a place or a predecessor.
	Append(ctx context.Context, e *Entry, sealer Sealer) error
	// Entries returns the entries f selects, newest first.
	Entries(ctx context.Context, f EntryFilter) ([]Entry, error)
	// Scan calls fn with every entry, oldest first, starting at seq from.
	Scan(ctx context.Context, from int64, fn func(Entry) error) error
	// Chain reads, as of one moment (appends made meanwhile are not seen), the anchor, every
	// entry oldest first (calling fn with the anchor and the entry), then the head: what
	// Verify checks.
	Chain(ctx context.Context, fn func(anchor Mark, e Entry) error) (anchor, head Mark, err error)
	// Head is the mark of the last entry appended; Anchor the mark the first kept entry
	// follows (zero until retention dropped entries).
	Head(ctx context.Context) (Mark, error)
	Anchor(ctx context.Context) (Mark, error)
	// Drop deletes the entries up to anchor.Seq, records anchor and, when refs is not nil,
	// deletes every blob that no kept entry or pin refers to (directly, or through a blob they
	// refer to) and that refs does not spare, in one transaction. It returns the addresses of
	// the blobs it deleted.
	Drop(ctx context.Context, anchor Mark, refs BlobRefs) (deleted []string, err error)
	// Pairs returns every App × Cluster that has an entry.
	Pairs(ctx context.Context) ([]Pair, error)

	// PutBlobs stores blobs under their addresses; an address already stored is kept.
	PutBlobs(ctx context.Context, blobs []Blob) error
	// Blob returns the data stored under address, or ErrNotFound.
	Blob(ctx context.Context, address string) ([]byte, error)

	// SetPin pins an App × Cluster (nil pin: unpins app/cluster).
	SetPin(ctx context.Context, app, cluster string, pin *Pin) error
	// Pins returns every pin.
	Pins(ctx context.Context) ([]Pin, error)

	// SetRollout keeps the state of an App's rollout (a JSON document the reconciler owns);
	// Rollout returns it, nil when the App has none.
	SetRollout(ctx context.Context, app string, state []byte) error
	Rollout(ctx context.Context, app string) ([]byte, error)

	Close() error
}

// BlobRefs tells a Store's Drop which blobs are still referred to.
type BlobRefs interface {
	// EntryRefs are the blobs a begin entry refers to (its snapshot); PinRefs a pin's.
	EntryRefs(e Entry) ([]string, error)
	PinRefs(p Pin) []string
	// DataRefs are the blobs a stored blob refers to (a snapshot's objects).
	DataRefs(address string, data []byte) ([]string, error)
	// Spare says that a blob nothing refers to yet must stay (stored for a change about to
	// begin).
	Spare(address string) bool
}

// Mark points at one entry of the chain by its seq and seal, and is sealed itself (Self) so it
// cannot be moved without the key: the head (the last entry appended, so that entries deleted
// from the end show) and the anchor (the last entry retention dropped, which the first kept
// entry follows).
type Mark struct {
	Seq  int64  `json:"seq"`
	Seal string `json:"seal"`
	Self string `json:"self"`
}

// Sealer seals entries and marks (see Keys).
type Sealer interface {
	Seal(e *Entry) string
	SealMark(kind string, m Mark) string
}

// ErrNotFound: no such change, entry or blob.
var ErrNotFound = errors.New("not found in the ledger")
