package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	neturl "net/url"
	"syscall"
	"time"
)

// Options bound every fetch.
type Options struct {
	// Timeout bounds one fetch, from the first connection to the last byte.
	Timeout time.Duration
	// MaxRedirects bounds the redirects one request follows.
	MaxRedirects int
	// AllowLocalAddresses lets fetches reach loopback, link-local and unspecified addresses.
	// For tests, whose servers listen on 127.0.0.1; never for an agent.
	AllowLocalAddresses bool
}

// DefaultOptions allow 30 seconds and 3 redirects per fetch, to public and private addresses
// but not local ones.
func DefaultOptions() Options {
	return Options{Timeout: 30 * time.Second, MaxRedirects: 3}
}

// Fetcher fetches files and Git repositories under its Options. It is safe for concurrent use.
type Fetcher struct {
	opts   Options
	client *http.Client
}

// NewFetcher returns a Fetcher with its own HTTP client: no proxy, the address policy checked
// on every connection, redirects bounded.
func NewFetcher(opts Options) *Fetcher {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultOptions().Timeout
	}
	dialer := &net.Dialer{Timeout: opts.Timeout, Control: addressPolicy(opts.AllowLocalAddresses)}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   opts.Timeout,
		ResponseHeaderTimeout: opts.Timeout,
		MaxIdleConns:          4,
		IdleConnTimeout:       30 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	client := &http.Client{
		Transport: transport,
		Timeout:   opts.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > opts.MaxRedirects {
				return fmt.Errorf("stopped after %d redirects", opts.MaxRedirects)
			}
			if req.URL.Scheme != "https" && req.URL.Scheme != "http" {
				return fmt.Errorf("redirect to %s: only http and https are fetched", req.URL.Scheme)
			}
			return nil
		},
	}
	return &Fetcher{opts: opts, client: client}
}

// AddressError refuses a connection to a local address.
type AddressError struct {
	Address string
}

func (e *AddressError) Error() string {
	return fmt.Sprintf("connection to %s refused: loopback, link-local and unspecified addresses are never fetched from", e.Address)
}

// addressPolicy returns a dialer Control function that refuses local addresses. It runs on the
// address being dialled, after name resolution, so a name that resolves to 127.0.0.1 or
// 169.254.169.254 is refused as well.
func addressPolicy(allowLocal bool) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		if allowLocal {
			return nil
		}
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		addr, err := netip.ParseAddr(host)
		if err != nil {
			return &AddressError{Address: address}
		}
		if isLocal(addr) {
			return &AddressError{Address: address}
		}
		return nil
	}
}

// isLocal reports whether addr is loopback, link-local (unicast or multicast), unspecified,
// or in 0.0.0.0/8, also when written as an IPv4-mapped IPv6 address.
func isLocal(addr netip.Addr) bool {
	addr = addr.Unmap()
	return addr.IsLoopback() || addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() ||
		addr.IsInterfaceLocalMulticast() || addr.IsUnspecified() ||
		(addr.Is4() && addr.As4()[0] == 0)
}

// LimitError says a fetch went past its byte limit.
type LimitError struct {
	URL string
	Max int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s: more than %d bytes; refused", e.URL, e.Max)
}

// limitedBody reads at most max bytes, then fails with *LimitError if the body has more.
type limitedBody struct {
	body io.ReadCloser
	url  string
	left int64
	max  int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, b.probe()
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.body.Read(p)
	b.left -= int64(n)
	if b.left <= 0 && err == nil {
		err = b.probe()
	}
	return n, err
}

// probe is called once max bytes were read: one byte more would be over the limit, so it reads
// one to find out whether there is one. It returns *LimitError if there is, else what the body
// said (io.EOF for a body of exactly max bytes, whose end a read may report only after its last
// byte, as a chunked response's may).
func (b *limitedBody) probe() error {
	return probeOne(b.body, &LimitError{URL: b.url, Max: b.max})
}

// probeOne reads one byte from a body whose limit is used up: over if there is one, else what
// the body said (io.EOF when it ended exactly at the limit).
func probeOne(body io.Reader, over error) error {
	var one [1]byte
	m, err := body.Read(one[:])
	if m > 0 {
		return over
	}
	return err
}

func (b *limitedBody) Close() error { return b.body.Close() }

// budgetTransport limits the response bodies of every request it makes to one shared budget.
type budgetTransport struct {
	next   http.RoundTripper
	url    string
	budget *int64
	max    int64
}

func (t *budgetTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &sharedBudgetBody{body: resp.Body, t: t}
	return resp, nil
}

type sharedBudgetBody struct {
	body io.ReadCloser
	t    *budgetTransport
}

func (b *sharedBudgetBody) Read(p []byte) (int, error) {
	if *b.t.budget <= 0 { // a body that ends exactly where the budget does is not over it
		return 0, probeOne(b.body, &LimitError{URL: b.t.url, Max: b.t.max})
	}
	if int64(len(p)) > *b.t.budget {
		p = p[:*b.t.budget]
	}
	n, err := b.body.Read(p)
	*b.t.budget -= int64(n)
	return n, err
}

func (b *sharedBudgetBody) Close() error { return b.body.Close() }

// withTimeout bounds ctx by the fetch timeout.
func (f *Fetcher) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, f.opts.Timeout)
}

// explain turns the errors of a fetch into what a user can act on.
func explain(url string, err error) error {
	var addr *AddressError
	var limit *LimitError
	var request *neturl.Error
	if errors.As(err, &request) {
		request.URL = url // net/http's keeps the user name, which may be a token
	}
	switch {
	case errors.As(err, &addr), errors.As(err, &limit):
		return fmt.Errorf("fetch %s: %w", url, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("fetch %s: no answer in time: %w", url, err)
	}
	return fmt.Errorf("fetch %s: %w", url, err)
}
