package nodefaulthttp

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestDisable: after Disable, the default client makes no request; a client with its own
// transport still does.
func TestDisable(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { requests.Add(1) }))
	defer srv.Close()
	own := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	saved := http.DefaultTransport
	defer func() { http.DefaultTransport = saved }()

	Disable()
	_, err := http.Get(srv.URL)
	if err == nil || !strings.Contains(err.Error(), "Flotilla makes no request through Go's default HTTP client") {
		t.Fatalf("http.Get: err = %v, want it refused", err)
	}
	if _, err := (&http.Client{}).Get(srv.URL); err == nil {
		t.Fatal("a client without a transport made a request")
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("the server got %d requests", n)
	}
	resp, err := own.Get(srv.URL)
	if err != nil {
		t.Fatalf("a client with its own transport: %v", err)
	}
	resp.Body.Close()
	if requests.Load() != 1 {
		t.Errorf("the server got %d requests, want 1", requests.Load())
	}
}
