package webhook

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var testSecret = []byte("s3cr3t-for-tests")

// readTestdata returns a file under testdata.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// headers builds an http.Header from name, value pairs, adding each value (so that a name given
// twice has two values).
func headers(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// merge returns a copy of a with b's values added.
func merge(a, b http.Header) http.Header {
	h := a.Clone()
	for k, vs := range b {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	return h
}

// TestVerifyKnownAnswers checks the signature against values computed elsewhere: the example in
// GitHub's documentation on validating webhook deliveries, and RFC 4231's test case 2.
func TestVerifyKnownAnswers(t *testing.T) {
	tests := []struct {
		p            Provider
		header       http.Header
		body, secret string
	}{
		{GitHub, headers(HeaderGitHubSignature, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"), "Hello, World!", "It's a Secret to Everybody"},
		{Generic, headers(HeaderGenericSignature, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"), "what do ya want for nothing?", "Jefe"},
		{Gitea, headers(HeaderGiteaSignature, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"), "what do ya want for nothing?", "Jefe"},
		{Gitea, headers(HeaderForgejoSignature, "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843"), "what do ya want for nothing?", "Jefe"},
	}
	for _, tt := range tests {
		if err := Verify(tt.p, tt.header, []byte(tt.body), []byte(tt.secret)); err != nil {
			t.Errorf("Verify(%s, %v): %v", tt.p, tt.header, err)
		}
	}
}

func TestVerify(t *testing.T) {
	body := readTestdata(t, "github-push.json")
	other := []byte("another secret")
	tampered := append([]byte{}, body...)
	tampered[len(tampered)-3] = ' '
	mac := func(b, s []byte) string { return Sign(Generic, b, s).Get(HeaderGenericSignature)[len("sha256="):] }
	good := mac(body, testSecret)
	tests := []struct {
		name   string
		p      Provider
		header http.Header
		body   []byte
		secret []byte
		want   error
	}{
		{"github good", GitHub, headers(HeaderGitHubSignature, "sha256="+good), body, testSecret, nil},
		{"github upper-case prefix and hex", GitHub, headers(HeaderGitHubSignature, "SHA256="+strings.ToUpper(good)), body, testSecret, nil},
		{"github other secret", GitHub, headers(HeaderGitHubSignature, "sha256="+mac(body, other)), body, testSecret, ErrSignature},
		{"github tampered body", GitHub, headers(HeaderGitHubSignature, "sha256="+good), tampered, testSecret, ErrSignature},
		{"github missing", GitHub, headers(), body, testSecret, ErrSignature},
		{"github empty", GitHub, headers(HeaderGitHubSignature, ""), body, testSecret, ErrSignature},
		{"github no prefix", GitHub, headers(HeaderGitHubSignature, good), body, testSecret, ErrSignature},
		{"github sha1 header only", GitHub, headers("X-Hub-Signature", "sha1=0123456789abcdef0123456789abcdef01234567"), body, testSecret, ErrSignature},
		{"github truncated", GitHub, headers(HeaderGitHubSignature, "sha256="+good[:62]), body, testSecret, ErrSignature},
		{"github not hex", GitHub, headers(HeaderGitHubSignature, "sha256="+strings.Repeat("zz", 32)), body, testSecret, ErrSignature},
		{"github two values", GitHub, headers(HeaderGitHubSignature, "sha256="+good, HeaderGitHubSignature, "sha256="+good), body, testSecret, ErrSignature},
		{"github empty secret", GitHub, headers(HeaderGitHubSignature, "sha256="+mac(body, nil)), body, nil, ErrSignature},
		{"gitlab good", GitLab, headers(HeaderGitLabToken, string(testSecret)), body, testSecret, nil},
		{"gitlab wrong", GitLab, headers(HeaderGitLabToken, "s3cr3t-for-test"), body, testSecret, ErrSignature},
		{"gitlab missing", GitLab, headers(), body, testSecret, ErrSignature},
		{"gitlab empty token and secret", GitLab, headers(HeaderGitLabToken, ""), body, []byte{}, ErrSignature},
		{"gitlab empty token", GitLab, headers(HeaderGitLabToken, ""), body, testSecret, ErrSignature},
		{"gitlab signature is not a token", GitLab, headers(HeaderGitHubSignature, "sha256="+good), body, testSecret, ErrSignature},
		{"gitea good", Gitea, headers(HeaderGiteaSignature, good), body, testSecret, nil},
		{"forgejo good", Gitea, headers(HeaderForgejoSignature, good), body, testSecret, nil},
		{"forgejo and gitea good", Gitea, headers(HeaderForgejoSignature, good, HeaderGiteaSignature, good), body, testSecret, nil},
		{"forgejo bad is not rescued by gitea", Gitea, headers(HeaderForgejoSignature, mac(body, other), HeaderGiteaSignature, good), body, testSecret, ErrSignature},
		{"gitea bad", Gitea, headers(HeaderGiteaSignature, mac(body, other)), body, testSecret, ErrSignature},
		{"gitea with prefix", Gitea, headers(HeaderGiteaSignature, "sha256="+good), body, testSecret, ErrSignature},
		{"gitea missing", Gitea, headers(HeaderGitHubSignature, "sha256="+good), body, testSecret, ErrSignature},
		{"generic good", Generic, headers(HeaderGenericSignature, "sha256="+good), body, testSecret, nil},
		{"generic bad", Generic, headers(HeaderGenericSignature, "sha256="+mac(body, other)), body, testSecret, ErrSignature},
		{"generic missing", Generic, headers(HeaderGitHubSignature, "sha256="+good), body, testSecret, ErrSignature},
		{"generic empty secret", Generic, headers(HeaderGenericSignature, "sha256="+mac(body, nil)), body, nil, ErrSignature},
		{"unknown provider", Provider("bitbucket"), headers(HeaderGenericSignature, "sha256="+good), body, testSecret, ErrProvider},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.p, tt.header, tt.body, tt.secret)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
		})
	}
}

// TestSignVerifies checks that Sign gives what Verify accepts, for every provider.
func TestSignVerifies(t *testing.T) {
	body := readTestdata(t, "generic-push.json")
	for _, p := range Providers {
		if err := Verify(p, Sign(p, body, testSecret), body, testSecret); err != nil {
			t.Errorf("%s: Verify(Sign(…)): %v", p, err)
		}
		if err := Verify(p, Sign(p, body, []byte("other")), body, testSecret); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: Verify with another secret: %v, want ErrSignature", p, err)
		}
	}
}

func TestProviderValid(t *testing.T) {
	for _, p := range Providers {
		if !p.Valid() {
			t.Errorf("%s: not valid", p)
		}
	}
	for _, p := range []Provider{"", "GitHub", "forgejo", "bitbucket"} {
		if p.Valid() {
			t.Errorf("%q: valid", p)
		}
	}
}
