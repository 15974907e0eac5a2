// Package examples embeds the example fleet repository in the flotilla binary, so that
// `flotilla quickstart` works from any installation. The Go file is not part of the repository
// you copy: leave it out.
package examples

import "embed"

// Files are the example repository: flotilla.yaml, README.md, base/ and overlays/.
//
//go:embed flotilla.yaml README.md base overlays
var Files embed.FS
