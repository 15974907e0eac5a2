package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Ledger records changes and reads them back. It is safe for concurrent use, and several
// processes may share one (the agent and CLI runs on the same state folder).
type Ledger struct {
	store Store
	keys  *Keys
	// now is the clock (tests set it).
	now func() time.Time
	// process is "pid@host" of this process (see beginBody.Process).
	process string
	// stored are blob addresses this process stored (see PutSnapshot).
	stored storedSet
	// gc is held by PutSnapshot (read) and by retention's blob collection (write).
	gc sync.RWMutex
}

// File names in the state folder.
const (
	DatabaseFile = "ledger.db"
	KeyFile      = "ledger.key"
)

// Open opens the ledger of a state folder: DatabaseFile and KeyFile in dir, both created on
// first use. See OpenSQLite for what is refused.
func Open(ctx context.Context, dir string) (*Ledger, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create the state folder: %w", err)
	}
	keyPath, dbPath := filepath.Join(dir, KeyFile), filepath.Join(dir, DatabaseFile)
	if err := checkFiles(ctx, dbPath, keyPath); err != nil {
		return nil, err
	}
	keys, err := LoadKeys(keyPath)
	if err != nil {
		return nil, err
	}
	store, err := OpenSQLite(ctx, dbPath)
	if err != nil {
		return nil, err
	}
	return New(store, keys), nil
}

// checkFiles refuses a database file that is not a Flotilla ledger, then one whose key file is
// gone. What the file is comes first: a foreign file is refused as such, key or not.
func checkFiles(ctx context.Context, dbPath, keyPath string) error {
	if err := checkHeader(dbPath); err != nil {
		return err
	}
	if err := checkOwner(ctx, dbPath); err != nil {
		return err
	}
	return checkKeyPresent(dbPath, keyPath)
}

// ErrKeyMissing: the ledger exists but its key file does not.
var ErrKeyMissing = errors.New("the ledger's key file is missing")

// checkKeyPresent refuses a ledger database that has content but no key file: a new key would
// verify none of its seals and read none of its snapshots' Secrets.
func checkKeyPresent(dbPath, keyPath string) error {
	info, err := os.Stat(dbPath)
	if err != nil || info.Size() == 0 {
		return nil
	}
	if _, err := os.Stat(keyPath); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s holds a ledger, %s is gone; without it the ledger cannot be verified nor its snapshots' Secrets read: put the key file back from a backup, or move %s away (keep it for the audit) to start a new ledger",
			ErrKeyMissing, dbPath, keyPath, DatabaseFile)
	}
	return nil
}

// OpenReadOnly opens the ledger a state folder holds, to read it (history, audit): nothing
// is created, nor migrated. A missing key file is refused (ErrKeyMissing), and so is what
// OpenSQLiteReadOnly refuses; it runs no integrity check over the file (Verify does).
func OpenReadOnly(ctx context.Context, dir string) (*Ledger, error) {
	keyPath, dbPath := filepath.Join(dir, KeyFile), filepath.Join(dir, DatabaseFile)
	if err := checkFiles(ctx, dbPath, keyPath); err != nil {
		return nil, err
	}
	master, err := readKey(keyPath)
	if err != nil {
		return nil, err
	}
	store, err := OpenSQLiteReadOnly(ctx, dbPath)
	if err != nil {
		return nil, err
	}
	return New(store, deriveKeys(master)), nil
}

// New returns a Ledger over a store, sealing with keys.
func New(store Store, keys *Keys) *Ledger {
	return &Ledger{store: store, keys: keys, now: time.Now, process: thisProcess()}
}

// Close closes the store.
func (l *Ledger) Close() error { return l.store.Close() }

// beginBody and endBody are what the two entries of a change hold beyond their columns.
type beginBody struct {
	Actor        Actor    `json:"actor"`
	Revision     Revision `json:"revision"`
	Digest       string   `json:"digest,omitempty"`
	Snapshot     string   `json:"snapshot,omitempty"`
	Reason       string   `json:"reason,omitempty"`
	RestoredFrom int64    `json:"restoredFrom,omitempty"`
	Drift        []string `json:"drift,omitempty"`
	// Process is "pid@host" of the process making the change, to tell a change still under way
	// in another process from one whose process died.
	Process string `json:"process,omitempty"`
}

type endBody struct {
	Error    string         `json:"error,omitempty"`
	Objects  []ObjectChange `json:"objects,omitempty"`
	Warnings []string       `json:"warnings,omitempty"`
}

// Begin records that a change starts, before it writes anything, and returns its ID (set in
// c.ID, with c.Started). If it fails, the change must not go ahead.
func (l *Ledger) Begin(ctx context.Context, c *Change) error {
	e, err := l.beginEntry(c)
	if err != nil {
		return err
	}
	if err := l.store.Append(ctx, &e, l.keys); err != nil {
		return fmt.Errorf("record the change before making it (nothing was applied): %w", err)
	}
	c.ID = e.Change
	return nil
}

// beginEntry is the begin entry of c, which it marks started.
func (l *Ledger) beginEntry(c *Change) (Entry, error) {
	c.Started, c.Result = l.now().UTC(), ResultRunning
	body, err := json.Marshal(beginBody{Actor: c.Actor, Revision: c.Revision, Digest: c.Digest, Snapshot: c.Snapshot,
		Reason: c.Reason, RestoredFrom: c.RestoredFrom, Drift: c.Drift, Process: l.process})
	if err != nil {
		return Entry{}, fmt.Errorf("record the change: %w", err)
	}
	return Entry{Phase: PhaseBegin, At: c.Started, App: c.App, Cluster: c.Cluster, Trigger: c.Trigger,
		Revision: strings.ToLower(c.Revision.Commit), Author: authorColumn(c), Result: ResultRunning, Body: body}, nil
}

// Finish records how a begun change ended: c.Result, c.Error and c.Objects. c.Finished is set
// to now, unless it is set already: an end written again after a write that failed keeps when
// the change ended.
func (l *Ledger) Finish(ctx context.Context, c *Change) error {
	e, err := l.endEntry(c)
	if err != nil {
		return err
	}
	if err := l.store.Append(ctx, &e, l.keys); err != nil {
		return fmt.Errorf("record the change's result: %w", err)
	}
	return nil
}

// endEntry is the end entry of c, which it marks finished.
func (l *Ledger) endEntry(c *Change) (Entry, error) {
	if c.ID == 0 {
		return Entry{}, errors.New("record the end of a change that was not begun")
	}
	if c.Finished.IsZero() {
		c.Finished = l.now().UTC()
	}
	body, err := json.Marshal(endBody{Error: c.Error, Objects: c.Objects, Warnings: c.Warnings})
	if err != nil {
		return Entry{}, fmt.Errorf("record the change's result: %w", err)
	}
	return Entry{Change: c.ID, Phase: PhaseEnd, At: c.Finished, App: c.App, Cluster: c.Cluster, Trigger: c.Trigger,
		Revision: strings.ToLower(c.Revision.Commit), Author: authorColumn(c), Result: c.Result, Body: body}, nil
}

// Record records a change that begins and ends at once (a refusal, an unpin).
func (l *Ledger) Record(ctx context.Context, c *Change) error {
	result, errText, objects, warnings := c.Result, c.Error, c.Objects, c.Warnings
	if err := l.Begin(ctx, c); err != nil {
		return err
	}
	c.Result, c.Error, c.Objects, c.Warnings = result, errText, objects, warnings
	return l.Finish(ctx, c)
}

// authorColumn is what --author matches: the commit's author and committer and the actor.
func authorColumn(c *Change) string {
	return strings.Join([]string{c.Revision.Author, c.Revision.Committer, c.Actor.String()}, "\n")
}

// thisProcess is "pid@host".
func thisProcess() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%d@%s", os.Getpid(), host)
}

// List returns the changes f selects, newest first.
func (l *Ledger) List(ctx context.Context, f Filter) ([]Change, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	begins, err := l.store.Entries(ctx, EntryFilter{Phase: PhaseBegin, App: f.App, Cluster: f.Cluster, Since: f.Since, Until: f.Until,
		Author: f.Author, Revision: f.Revision, Trigger: f.Trigger, Limit: limit})
	if err != nil {
		return nil, err
	}
	return l.assemble(ctx, begins)
}

// Get returns one change.
func (l *Ledger) Get(ctx context.Context, id int64) (*Change, error) {
	entries, err := l.store.Entries(ctx, EntryFilter{Changes: []int64{id}, Phase: PhaseBegin})
	if err != nil {
		return nil, err
	}
	changes, err := l.assemble(ctx, entries)
	if err != nil {
		return nil, err
	}
	if len(changes) == 0 {
		return nil, fmt.Errorf("change %d: %w", id, ErrNotFound)
	}
	return &changes[0], nil
}

// assemble turns begin entries into changes, with their end entries.
func (l *Ledger) assemble(ctx context.Context, begins []Entry) ([]Change, error) {
	ids := make([]int64, len(begins))
	for i, b := range begins {
		ids[i] = b.Change
	}
	ends := map[int64]Entry{}
	if len(ids) > 0 {
		entries, err := l.store.Entries(ctx, EntryFilter{Phase: PhaseEnd, Changes: ids})
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			ends[e.Change] = e
		}
	}
	changes := make([]Change, 0, len(begins))
	for _, b := range begins {
		c, err := changeOf(b, ends[b.Change])
		if err != nil {
			return nil, err
		}
		changes = append(changes, c)
	}
	return changes, nil
}

// changeOf puts a change together from its begin entry and its end entry (zero if none).
func changeOf(begin, end Entry) (Change, error) {
	var b beginBody
	if err := json.Unmarshal(begin.Body, &b); err != nil {
		return Change{}, fmt.Errorf("change %d: read its record: %w", begin.Change, err)
	}
	c := Change{ID: begin.Change, App: begin.App, Cluster: begin.Cluster, Trigger: begin.Trigger, Actor: b.Actor,
		Revision: b.Revision, Started: begin.At, Digest: b.Digest, Snapshot: b.Snapshot, Reason: b.Reason,
		RestoredFrom: b.RestoredFrom, Drift: b.Drift, Result: ResultRunning}
	if end.Seq == 0 {
		return c, nil
	}
	var e endBody
	if err := json.Unmarshal(end.Body, &e); err != nil {
		return Change{}, fmt.Errorf("change %d: read its result: %w", begin.Change, err)
	}
	c.Finished, c.Result, c.Error, c.Objects, c.Warnings = end.At, end.Result, e.Error, e.Objects, e.Warnings
	return c, nil
}
