package remote

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// File downloads url (http or https), at most max bytes.
func (f *Fetcher) File(ctx context.Context, rawURL string, max int64) ([]byte, error) {
	u, err := parseHTTP(rawURL)
	if err != nil {
		return nil, err
	}
	shown := u.Redacted()
	ctx, cancel := f.withTimeout(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", shown, err)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, explain(shown, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("fetch %s: %s", shown, resp.Status)
	}
	if resp.ContentLength > max {
		return nil, fmt.Errorf("fetch %s: %w", shown, &LimitError{URL: shown, Max: max})
	}
	data, err := io.ReadAll(&limitedBody{body: resp.Body, url: shown, left: max, max: max})
	if err != nil {
		return nil, explain(shown, err)
	}
	return data, nil
}

// parseHTTP accepts http and https URLs only.
func parseHTTP(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("not a URL: %q", Redact(rawURL))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%s: only http and https URLs are fetched", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%s: no host", u.Redacted())
	}
	return u, nil
}

// Redact returns a URL for messages: any password (and, for a URL that does not parse, any
// user information) replaced, values of query parameters other than kustomize's own (ref, version) left out.
func Redact(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil {
		query := u.Query()
		for key := range query {
			switch key {
			case "ref", "version", "timeout", "submodules":
			default:
				query[key] = []string{"…"} // may hold a token
			}
		}
		if u.RawQuery != "" {
			u.RawQuery = query.Encode()
		}
		return u.Redacted()
	}
	scheme, rest, ok := cutScheme(rawURL)
	if !ok {
		return "(a URL that does not parse)"
	}
	host := rest
	tail := ""
	for i := 0; i < len(rest); i++ {
		if rest[i] == '/' {
			host, tail = rest[:i], rest[i:]
			break
		}
	}
	for i := len(host) - 1; i >= 0; i-- {
		if host[i] == '@' {
			host = "xxxxx@" + host[i+1:]
			break
		}
	}
	return scheme + "://" + host + tail
}

func cutScheme(s string) (string, string, bool) {
	for i := 0; i+2 < len(s); i++ {
		if s[i:i+3] == "://" {
			return s[:i], s[i+3:], true
		}
	}
	return "", "", false
}
