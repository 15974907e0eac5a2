// Package gitrepo fetches the Git repository of a Source and resolves its ref to a verified
// Revision.
//
// Each Source has one cached bare repository. A fetch first lists the remote's refs and skips
// the download entirely when the wanted commit is already cached; otherwise it fetches only the
// wanted ref, incrementally. Refs may be a branch, a tag, a semver range over tags (highest
// match) or a commit. A branch whose new head does not descend from the last seen commit is
// reported as a history rewrite. Credentials come from files or environment variables and are
// scrubbed from every error. Signature policies accept OpenPGP and SSH signatures on commits or
// tags.
//
// It takes a config.Source and returns a Fetched: the Revision and the commit's tree, which the
// render stage reads.
package gitrepo
