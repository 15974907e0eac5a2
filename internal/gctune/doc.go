// Package gctune sets the Go garbage collector for Flotilla's workload: rendering and applying
// allocate a lot of short-lived YAML and JSON, and on a small machine the default collector
// spends a third of a render's time collecting. It trades memory for speed, with a ceiling.
package gctune
