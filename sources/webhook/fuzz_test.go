package webhook

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/config"
)

// fuzzParse runs Parse on what the fuzzer makes of an event header, a content type and a body,
// and checks what every caller relies on: no panic; an error is ErrMalformed or ErrIgnored and
// comes with no Push; a Push has a full ref, at least one non-empty repository URL, its
// provider, no commit when the ref was deleted, and matches a Source that follows its ref in
// its first repository (when that URL normalises to one).
func fuzzParse(t *testing.T, p Provider, header http.Header, body []byte) {
	push, err := Parse(p, header, body)
	if err != nil {
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrIgnored) {
			t.Fatalf("Parse: error %v is neither ErrMalformed nor ErrIgnored", err)
		}
		if push.Ref != "" || push.Repositories != nil {
			t.Fatalf("Parse: %+v with error %v", push, err)
		}
		return
	}
	if !strings.HasPrefix(push.Ref, "refs/") || len(push.Ref) == len("refs/") {
		t.Fatalf("Parse: ref %q does not start with refs/", push.Ref)
	}
	if len(push.Repositories) == 0 {
		t.Fatalf("Parse: no repository")
	}
	for _, r := range push.Repositories {
		if strings.TrimSpace(r) == "" {
			t.Fatalf("Parse: empty repository URL in %q", push.Repositories)
		}
	}
	if push.Provider != p {
		t.Fatalf("Parse: provider %q, want %q", push.Provider, p)
	}
	if push.Deleted && push.Commit != "" {
		t.Fatalf("Parse: deleted ref with commit %q", push.Commit)
	}
	ref, follows := followRef(push.Ref)
	src := source(push.Repositories[0], ref)
	if got, want := push.Matches(src), follows && NormalizeRepoURL(push.Repositories[0]) != ""; got != want {
		t.Fatalf("Matches(%q, %+v) = %v, want %v", push.Repositories[0], ref, got, want)
	}
}

// followRef returns the Source ref that follows a pushed ref, and false for a ref that no
// Source can follow (neither a branch nor a tag).
func followRef(ref string) (config.GitRef, bool) {
	if tag, ok := strings.CutPrefix(ref, "refs/tags/"); ok {
		return config.GitRef{Tag: tag}, tag != ""
	}
	if branch, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		return config.GitRef{Branch: branch}, branch != ""
	}
	return config.GitRef{Branch: ref}, false
}

func addSeeds(f *testing.F, events []string, files ...string) {
	for _, file := range files {
		body := readTestdata(f, file)
		for _, event := range events {
			f.Add(event, "application/json", body)
			f.Add(event, formType, form(body))
		}
	}
	f.Add("push", "", []byte(`{"ref":"refs/heads/main","after":"","repository":{}}`))
	f.Add("push", "text/plain; charset=\"", []byte(`{}`))
}

func FuzzParseGitHub(f *testing.F) {
	addSeeds(f, []string{"push", "ping"}, "github-push.json", "github-push-tag.json", "github-push-delete.json", "github-ping.json")
	f.Add("push", "", []byte(`{"ref":"refs/tags/v1","after":"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c","repository":{"clone_url":"https://h/o/r.git","ssh_url":"git@h:o/r.git"}}`))
	f.Fuzz(func(t *testing.T, event, contentType string, body []byte) {
		fuzzParse(t, GitHub, headers(HeaderGitHubEvent, event, "Content-Type", contentType), body)
	})
}

func FuzzParseGitLab(f *testing.F) {
	addSeeds(f, []string{"Push Hook", "Tag Push Hook", "System Hook", "Merge Request Hook"}, "gitlab-push.json", "gitlab-tag-push.json", "gitlab-merge-request.json")
	f.Add("Tag Push Hook", "", []byte(`{"object_kind":"tag_push","ref":"refs/tags/v1","after":"0000000000000000000000000000000000000000","project":{"git_ssh_url":"git@h:g/s/r.git"}}`))
	f.Fuzz(func(t *testing.T, event, contentType string, body []byte) {
		fuzzParse(t, GitLab, headers(HeaderGitLabEvent, event, "Content-Type", contentType), body)
	})
}

func FuzzParseGitea(f *testing.F) {
	addSeeds(f, []string{"push", "create"}, "gitea-push.json", "gitea-push-tag.json", "gitea-create.json")
	f.Add("push", "", []byte(`{"ref":"refs/heads/main","after":"bffeb74224043ba2feb48d137756c8a9331c449a","repository":{"ssh_url":"ssh://git@h:2222/o/r.git"}}`))
	f.Fuzz(func(t *testing.T, event, contentType string, body []byte) {
		// Half the inputs as Forgejo sends them, with both event headers.
		h := headers(HeaderGiteaEvent, event, "Content-Type", contentType)
		if len(body)%2 == 1 {
			h.Set(HeaderForgejoEvent, event)
		}
		fuzzParse(t, Gitea, h, body)
	})
}

func FuzzParseGeneric(f *testing.F) {
	addSeeds(f, []string{""}, "generic-push.json")
	f.Add("", "", []byte(`{"repository":"git@github.com:a/b","ref":"refs/tags/v1","commit":"0000000000000000000000000000000000000000"}`))
	f.Fuzz(func(t *testing.T, _, contentType string, body []byte) {
		fuzzParse(t, Generic, headers("Content-Type", contentType), body)
	})
}

// FuzzVerify checks that Verify never panics and accepts only the right signature: a header the
// fuzzer makes up is refused unless it is exactly what Sign gives.
func FuzzVerify(f *testing.F) {
	body := readTestdata(f, "generic-push.json")
	for _, p := range Providers {
		for _, v := range Sign(p, body, testSecret) {
			f.Add(string(p), v[0], body, string(testSecret))
		}
	}
	f.Add("github", "sha256=", []byte{}, "")
	f.Fuzz(func(t *testing.T, provider, value string, body []byte, secret string) {
		p := Provider(provider)
		for _, name := range []string{HeaderGitHubSignature, HeaderGitLabToken, HeaderGiteaSignature, HeaderForgejoSignature, HeaderGenericSignature} {
			err := Verify(p, headers(name, value), body, []byte(secret))
			if err == nil && (secret == "" || !p.Valid() || !signedBy(p, name, value, body, []byte(secret))) {
				t.Fatalf("Verify(%q, %s: %q) accepted a signature that Sign does not give", p, name, value)
			}
		}
	})
}

// signedBy reports whether header name: value is what Sign gives (hex in either case; the
// Forgejo header carries the Gitea signature).
func signedBy(p Provider, name, value string, body, secret []byte) bool {
	if p == Gitea && name == HeaderForgejoSignature {
		name = HeaderGiteaSignature
	}
	want := Sign(p, body, secret).Get(name)
	if want == "" {
		return false
	}
	if p == GitLab {
		return value == want
	}
	return strings.EqualFold(strings.TrimSpace(value), want)
}

func FuzzNormalizeRepoURL(f *testing.F) {
	for _, s := range []string{
		"https://github.com/Acme/fleet.git", "git@github.com:Acme/fleet.git", "ssh://git@[::1]:2222/x.git",
		"git@[host:22]:a/b", "file:///srv/git/fleet", "/srv/git/fleet.git/", "https://github.com/.git/",
		"http://user:pw@Host.Example.:80//a/../b.git.git//", "git://h:9418/x", "https:///x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got := NormalizeRepoURL(raw)
		if got == "" {
			return
		}
		if strings.HasSuffix(got, "/") || strings.HasSuffix(got, ".git") {
			t.Fatalf("NormalizeRepoURL(%q) = %q ends with / or .git", raw, got)
		}
		if strings.ContainsAny(got, "\x00\n\r\t") {
			t.Fatalf("NormalizeRepoURL(%q) = %q holds a control character", raw, got)
		}
		if strings.HasPrefix(got, "file://") {
			return
		}
		slash := strings.IndexByte(got, '/')
		if slash <= 0 {
			t.Fatalf("NormalizeRepoURL(%q) = %q has no host/path", raw, got)
		}
		if host := got[:slash]; host != strings.ToLower(host) || strings.Contains(host, "@") {
			t.Fatalf("NormalizeRepoURL(%q) = %q: host %q not lower-case or holds user info", raw, got, host)
		}
		// Normalising is deterministic.
		if again := NormalizeRepoURL(raw); again != got {
			t.Fatalf("NormalizeRepoURL(%q) = %q, then %q", raw, got, again)
		}
	})
}
