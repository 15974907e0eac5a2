package gctune

import (
	"os"
	"runtime/debug"
)

// Percent and MemoryLimit are what Apply sets: collect when the heap has grown to five times
// what survived the last collection, and collect harder as the whole process nears 1 GiB.
const (
	Percent     = 400
	MemoryLimit = 1 << 30
)

// Apply sets the collector unless the user chose with GOGC or GOMEMLIMIT, which win.
func Apply() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(Percent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(MemoryLimit)
	}
}
