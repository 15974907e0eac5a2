package remote

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseGitBase(t *testing.T) {
	tests := []struct {
		in      string
		want    GitBase
		wantErr string
	}{
		{in: "https://example.com/org/repo//base/app?ref=v1", want: GitBase{URL: "https://example.com/org/repo", Ref: "v1", Path: "base/app"}},
		{in: "https://example.com/org/repo.git/base?version=main", want: GitBase{URL: "https://example.com/org/repo.git", Ref: "main", Path: "base"}},
		{in: "https://dev.azure.com/org/_git/repo/base", want: GitBase{URL: "https://dev.azure.com/org/_git/repo", Path: "base"}},
		{in: "github.com/org/repo/base?ref=abc", want: GitBase{URL: "https://github.com/org/repo", Ref: "abc", Path: "base"}},
		{in: "git::HTTPS://example.com/org/repo", want: GitBase{URL: "https://example.com/org/repo"}},
		{in: "git@github.com:org/repo", wantErr: "only http and https remote bases are fetched"},
		{in: "ssh://git@example.com/org/repo", wantErr: "only http and https remote bases are fetched"},
		{in: "file:///etc", wantErr: "only http and https remote bases are fetched"},
		{in: "https://example.com/org/repo//../../x", wantErr: "leaves the repository"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseGitBase(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestIsLocal(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1": true, "127.8.9.10": true, "::1": true, "169.254.169.254": true, "fe80::1": true,
		"0.0.0.0": true, "::": true, "::ffff:127.0.0.1": true, "0.1.2.3": true,
		"10.0.0.1": false, "192.168.1.1": false, "93.184.216.34": false, "2001:db8::1": false,
	} {
		if got := isLocal(netip.MustParseAddr(addr)); got != want {
			t.Errorf("isLocal(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://bob:secret@example.com/x?ref=v1&token=abc": "https://***@example.com/x?ref=v1&token=%E2%80%A6",
		"https://bob:secret@exa mple.com/x":                 "https://***@exa mple.com/x",
		"https://ghp_TOKEN@example.com/org/repo//base":      "https://***@example.com/org/repo//base",
		"https://ghp_TOKEN@exa mple.com/x?token=abc":        "https://***@exa mple.com/x?…",
		"https://example.com/x?ref=v1":                      "https://example.com/x?ref=v1",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
