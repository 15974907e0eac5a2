// Package tree is a read-only view of one repository checkout, for kustomize to read from and
// for nothing else to escape: a Git commit's tree or a local folder becomes a
// filesys.FileSystem whose root "/" is the repository root.
//
// Its structure (folders, file names) is indexed up front; file contents are read only when
// kustomize asks, so a large file nobody references costs nothing. Every read is checked: file
// size and total bytes against Limits, symlinks resolved inside the repository (a link that
// leaves it is refused), YAML anchors that expand explosively refused, kustomization files whose
// resources point outside the repository (remote bases, URLs) refused, and the number of
// documents read bounded. Writes are refused.
package tree
