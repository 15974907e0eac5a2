// Package tree is a read-only view of one repository checkout, for kustomize to read from and
// for nothing else to escape: a Git commit's tree or a local folder becomes a
// filesys.FileSystem whose root "/" is the repository root.
//
// Its structure (folders, file names) is indexed up front; file contents are read only when
// kustomize asks, so a large file nobody references costs nothing. Every read is checked: file
// size and total bytes against Limits, YAML anchors that expand explosively refused, the
// documents read and the kustomizations loaded bounded. Writes are refused.
//
// Before kustomize runs, CheckKustomizations (references.go) reads every kustomization and
// plugin configuration the render will load, decoded as kustomize decodes them, and checks
// every string in them except those in fields known to hold plain values (fields.go): a URL of
// any scheme, an scp-like Git address or a github.com path is refused unless the Source allows
// remote bases, an absolute path or one that climbs out is refused, a secretGenerator env file
// line without "=" is refused, and kustomize's exponential re-loading of shared folders is
// bounded. A field a future kustomize adds is checked like a file field until it is listed as
// a value: the failure mode is a refusal, never a fetch. Kustomize itself never reaches the
// network: when remote bases are allowed, CheckKustomizations returns the remote references,
// the caller fetches them (package remote), and WithFetched (mount.go) places them in a new
// view under the naming kustomization's folder and rewrites the references to point there.
//
// Symlinks, to files and to folders, are followed inside the repository at any point of a path,
// as kustomize on disk follows them: CleanedAbs returns the resolved path, so a kustomization
// reached through a symlinked folder is loaded from its real folder (symlink.go). A symlink
// whose target is absolute or climbs above the root is refused ("leaves the repository"), and so
// is a path through more than 40 symlinks (a loop).
//
// A file or folder whose name kustomize's in-memory file system cannot hold (a control
// character, invalid UTF-8, a backslash, or any character but ASCII letters, digits and "-_.:")
// does not break the renders that do not use it: it is left out of listings, and refused, named
// %q-quoted, when asked for (names.go). Every error that shows a path from the repository quotes
// it when it holds a character a terminal would interpret.
package tree
