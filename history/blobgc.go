package history

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Retention drops changes, and with them the snapshot blobs that only they referred to (in the
// same transaction, see Store.Drop): a blob stays while a kept change's snapshot or a pin's
// refers to it, or it was stored (or found stored) by this process within blobGrace, for a
// change about to begin.
const blobGrace = 10 * time.Minute

// storedSet remembers addresses this process stored, and when, so that a render mostly like the
// last one costs no compression or write for what is already there. It forgets everything past
// a bound, and what retention deleted.
type storedSet struct {
	mu  sync.Mutex
	set map[string]time.Time
}

const maxRemembered = 100_000

// has says whether this process stored address, and marks it used now: a snapshot is about to
// refer to it.
func (s *storedSet) has(address string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.set[address]; !ok {
		return false
	}
	s.set[address] = now
	return true
}

func (s *storedSet) add(address string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set == nil || len(s.set) >= maxRemembered {
		s.set = map[string]time.Time{}
	}
	s.set[address] = now
}

// usedSince says whether address was stored or used at since or later.
func (s *storedSet) usedSince(address string, since time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.set[address]
	return ok && !at.Before(since)
}

func (s *storedSet) forget(addresses []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range addresses {
		delete(s.set, a)
	}
}

// ledgerRefs are the references between the ledger's entries, pins and blobs (see BlobRefs).
type ledgerRefs struct {
	l *Ledger
	// since: blobs this process stored or used from then on are spared.
	since time.Time
}

func (r ledgerRefs) EntryRefs(e Entry) ([]string, error) {
	if e.Phase != PhaseBegin {
		return nil, nil
	}
	var b beginBody
	if err := json.Unmarshal(e.Body, &b); err != nil {
		return nil, fmt.Errorf("entry %d: read its record: %w", e.Seq, err)
	}
	if b.Snapshot == "" {
		return nil, nil
	}
	return []string{b.Snapshot}, nil
}

func (r ledgerRefs) PinRefs(p Pin) []string {
	if p.Snapshot == "" {
		return nil
	}
	return []string{p.Snapshot}
}

func (r ledgerRefs) DataRefs(address string, data []byte) ([]string, error) {
	if !strings.HasPrefix(address, "snapshot:") {
		return nil, nil
	}
	text, err := decompress(data)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", address, err)
	}
	var m manifest
	if err := json.Unmarshal(text, &m); err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", address, err)
	}
	return m.Objects, nil
}

func (r ledgerRefs) Spare(address string) bool { return r.l.stored.usedSince(address, r.since) }
