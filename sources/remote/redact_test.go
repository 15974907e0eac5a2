package remote

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/sources/tree"
)

// TestFetchErrorsDoNotShowTheUserName: a URL's user name may be an access token
// (https://TOKEN@host/…); no error of a fetch shows it, whether the URL is refused, the
// connection fails, or the server answers with an error.
func TestFetchErrorsDoNotShowTheUserName(t *testing.T) {
	const token = "ghp_s3cr3tT0ken"
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String() // nothing listens there once closed
	ln.Close()
	withToken := func(u string) string { return strings.Replace(u, "://", "://"+token+"@", 1) }
	forTests := Options{Timeout: 5 * time.Second, MaxRedirects: 3, AllowLocalAddresses: true}
	tests := []struct {
		name string
		opts Options
		ref  tree.Reference
	}{
		{"file: server answers 404", forTests, tree.Reference{Value: withToken(srv.URL) + "/x.yaml"}},
		{"file: connection refused", forTests, tree.Reference{Value: withToken("http://"+closed) + "/x.yaml"}},
		{"file: local address refused", DefaultOptions(), tree.Reference{Value: withToken(srv.URL) + "/x.yaml"}},
		{"file: not http", forTests, tree.Reference{Value: withToken("ftp://example.com") + "/x.yaml"}},
		{"file: does not parse", forTests, tree.Reference{Value: withToken("http://exa mple.com") + "/x.yaml"}},
		{"base: server answers 404", forTests, tree.Reference{Value: withToken(srv.URL) + "/org/repo//base?ref=main", Base: true}},
		{"base: connection refused", forTests, tree.Reference{Value: withToken("http://"+closed) + "/org/repo//base", Base: true}},
		{"base: local address refused", DefaultOptions(), tree.Reference{Value: withToken(srv.URL) + "/org/repo//base", Base: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewFetcher(tt.opts).Fetch(context.Background(), &tt.ref, tree.DefaultLimits())
			if err == nil {
				t.Fatal("fetched")
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("the error shows the token: %v", err)
			}
			if !strings.Contains(err.Error(), "***@") {
				t.Errorf("the error does not show where the user name was: %v", err)
			}
		})
	}
}
