package examples

import "embed"

// Files are the example repository: flotilla.yaml, README.md, base/ and overlays/.
//
//go:embed flotilla.yaml README.md base overlays
var Files embed.FS
