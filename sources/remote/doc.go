// Package remote fetches what a kustomization names outside its repository, for Sources that
// set spec.allowRemoteBases: single files over HTTP(S), and Git repositories over HTTP(S) for
// remote bases. Kustomize itself never reaches the network in Flotilla: package tree finds
// every remote reference before kustomize runs, this package fetches it, and the render reads
// it from the repository view like any other file.
//
// Every fetch is bounded: a timeout for the whole fetch, at most a few redirects, a byte limit
// (the caller passes what is left of the render's), and connections only to addresses that are
// not loopback, link-local or unspecified, checked on the address actually dialled (after DNS,
// on every redirect), so that a repository cannot make the agent read its own host's services
// or a cloud metadata endpoint. Proxies from the environment are not used. SSH, git:// and
// file:// remote bases are refused: they would use the agent's own keys or files.
package remote
