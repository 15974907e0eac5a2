// Package history is the change ledger: one record per change Flotilla makes (or tries to
// make) to an App on a cluster, who asked for it, from which commit, what it did to each object
// and how it ended; the rendered objects of every applied revision (snapshots), so that any of
// them can be restored without Git; and a hash chain that shows whether a record was edited,
// inserted or deleted since it was written.
//
// The data flows through it like this: the reconciler's record stage calls Ledger.Begin before
// it writes anything to a cluster (if that fails, nothing is applied) and Ledger.Finish once
// the change is over; a change begun and never finished (the process was killed) is closed as
// Interrupted by Ledger.CloseInterrupted on the next start. Queries (List, Get), the audit
// (Verify, Export, Retain), pins (a rolled-back App × Cluster stays on its revision until a
// newer commit) and snapshots (PutSnapshot, Snapshot) read and write through the same Ledger.
//
// Storage is behind Store, a small interface of entries and blobs (store.go); OpenSQLite is
// the embedded implementation: one SQLite file in WAL mode, pure Go (modernc.org/sqlite),
// with schema migrations, an application id that tells a foreign file from ours, and a
// refusal of a database written by a newer Flotilla. A shared PostgreSQL store can implement
// the same interface.
//
// Each change is two entries, begin and end, each sealed with an HMAC-SHA256 over its fields
// and the seal of the entry before it, keyed by the ledger key (a file created mode 0600 next
// to the database). Someone who edits the database without the key file cannot write a
// matching seal, so Verify names the first entry edited, inserted or deleted. The same key
// encrypts Secret objects in snapshots (AES-256-GCM): the database file never holds a Secret
// value in plaintext, and diffs in records show Secret values masked.
package history
