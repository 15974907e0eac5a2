package remote

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/flotilla-dev/flotilla/config"
)

// File downloads url (http or https), at most max bytes.
func (f *Fetcher) File(ctx context.Context, rawURL string, max int64) ([]byte, error) {
	u, err := parseHTTP(rawURL)
	if err != nil {
		return nil, err
	}
	shown := Redact(rawURL)
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
		return nil, fmt.Errorf("%s: only http and https URLs are fetched", Redact(rawURL))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%s: no host", Redact(rawURL))
	}
	return u, nil
}

// Redact returns a URL for messages: all user information replaced by "***" (a user name alone
// may be an access token: https://TOKEN@host/…; see config.RedactURL), values of query
// parameters other than kustomize's own (ref, version, timeout, submodules) left out.
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
		if u.User == nil {
			return u.String()
		}
		u.User = nil
		scheme, rest, _ := strings.Cut(u.String(), "//")
		return scheme + "//***@" + rest
	}
	if base, _, ok := strings.Cut(rawURL, "?"); ok {
		return config.RedactURL(base) + "?…" // a URL that does not parse: no query value shown
	}
	return config.RedactURL(rawURL)
}

func cutScheme(s string) (string, string, bool) {
	for i := 0; i+2 < len(s); i++ {
		if s[i:i+3] == "://" {
			return s[:i], s[i+3:], true
		}
	}
	return "", "", false
}
