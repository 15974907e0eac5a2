// Package history is the change ledger: an append-only, hash-chained record of every change
// Flotilla makes to a cluster (who, what, where, when, from which commit, with what result) with
// rendered snapshots, stored in SQLite (embedded) or PostgreSQL (shared agents), and queries
// over it for `flotilla history` and `flotilla audit`.
package history
