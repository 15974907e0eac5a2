// Package nodefaulthttp turns off Go's default HTTP transport for the whole process, so that no
// library can reach the network through http.DefaultClient or a client without a transport of
// its own. Kustomize is such a library: its loader fetches http(s) URLs with a bare
// http.Client. Flotilla checks every kustomization before kustomize runs, so that kustomize is
// never handed a URL, and fetches what a Source allows itself, with its own clients (Git,
// remote bases, Kubernetes); this is the second line: if a URL ever got through, the request
// fails instead of leaving the process.
package nodefaulthttp

import (
	"fmt"
	"net/http"
)

// Disable replaces http.DefaultTransport with one that refuses every request. Call it once, at
// the start of main, before anything makes requests. Clients that set their own Transport are
// not affected.
func Disable() {
	http.DefaultTransport = refused{}
}

// refused is a RoundTripper that makes no connection.
type refused struct{}

// RoundTrip refuses the request.
func (refused) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	return nil, fmt.Errorf("%s %s: refused: Flotilla makes no request through Go's default HTTP client", req.Method, req.URL.Redacted())
}
