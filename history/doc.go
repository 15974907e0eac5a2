// Package history is empty today. The change ledger (who changed what, where, when, from which
// commit, with what result) will live here; until then, what a sync changed is recorded in each
// cluster's inventory (see reconciler.InventoryRecorder).
package history
