// Package keylock serialises work per key: one mutex per key, made on first use. The Git
// fetcher takes one fetch per Source at a time with it, the render cache one build per path.
package keylock
