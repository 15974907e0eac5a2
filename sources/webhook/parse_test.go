package webhook

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var (
	githubRepos = []string{
		"https://github.com/Acme/fleet.git", "https://github.com/Acme/fleet",
		"git@github.com:Acme/fleet.git", "git://github.com/Acme/fleet.git",
	}
	gitlabRepos = []string{
		"https://gitlab.acme.example/platform/deploy/fleet.git", "git@gitlab.acme.example:platform/deploy/fleet.git",
		"https://gitlab.acme.example/platform/deploy/fleet",
	}
	giteaRepos = []string{
		"https://git.acme.example/platform/fleet.git", "https://git.acme.example/platform/fleet",
		"ssh://git@git.acme.example:2222/platform/fleet.git",
	}
)

// form wraps a JSON payload as GitHub and Gitea send it with the form content type.
func form(body []byte) []byte {
	return []byte(url.Values{"payload": {string(body)}}.Encode())
}

const formType = "application/x-www-form-urlencoded"

type parseCase struct {
	name   string
	p      Provider
	header http.Header
	body   []byte
	want   Push
	err    error
}

func runParse(t *testing.T, tests []parseCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.p, tt.header, tt.body)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Parse: %v, want %v", err, tt.err)
				}
				t.Logf("Parse: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseGitHub(t *testing.T) {
	push := readTestdata(t, "github-push.json")
	runParse(t, []parseCase{
		{"push", GitHub, headers(HeaderGitHubEvent, "push", "Content-Type", "application/json"), push,
			Push{Provider: GitHub, Repositories: githubRepos, Ref: "refs/heads/main", Commit: "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"}, nil},
		{"push as form", GitHub, headers(HeaderGitHubEvent, "push", "Content-Type", formType), form(push),
			Push{Provider: GitHub, Repositories: githubRepos, Ref: "refs/heads/main", Commit: "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"}, nil},
		{"tag push", GitHub, headers(HeaderGitHubEvent, "push"), readTestdata(t, "github-push-tag.json"),
			Push{Provider: GitHub, Repositories: githubRepos, Ref: "refs/tags/v1.4.0", Commit: "a6c9e8d2f1b04c3e8f7d5a2b1c0e9f8d7a6b5c4d"}, nil},
		{"branch deleted", GitHub, headers(HeaderGitHubEvent, "push"), readTestdata(t, "github-push-delete.json"),
			Push{Provider: GitHub, Repositories: githubRepos, Ref: "refs/heads/feature/canary", Deleted: true}, nil},
		{"ping", GitHub, headers(HeaderGitHubEvent, "ping"), readTestdata(t, "github-ping.json"), Push{}, ErrIgnored},
		{"ping with any body", GitHub, headers(HeaderGitHubEvent, "ping"), []byte("{"), Push{}, ErrIgnored},
		{"pull request", GitHub, headers(HeaderGitHubEvent, "pull_request"), []byte(`{"action":"opened"}`), Push{}, ErrIgnored},
		{"create", GitHub, headers(HeaderGitHubEvent, "create"), []byte(`{"ref":"v1.4.0","ref_type":"tag"}`), Push{}, ErrIgnored},
		{"no event header", GitHub, headers(), push, Push{}, ErrMalformed},
		{"truncated JSON", GitHub, headers(HeaderGitHubEvent, "push"), push[:len(push)/2], Push{}, ErrMalformed},
		{"not JSON", GitHub, headers(HeaderGitHubEvent, "push"), []byte("ref=refs/heads/main"), Push{}, ErrMalformed},
		{"empty body", GitHub, headers(HeaderGitHubEvent, "push"), nil, Push{}, ErrMalformed},
		{"JSON array", GitHub, headers(HeaderGitHubEvent, "push"), []byte(`[]`), Push{}, ErrMalformed},
		{"two objects", GitHub, headers(HeaderGitHubEvent, "push"), append(append([]byte{}, push...), push...), Push{}, ErrMalformed},
		{"ref of the wrong type", GitHub, headers(HeaderGitHubEvent, "push"), []byte(`{"ref": 7, "repository": {"clone_url": "https://github.com/a/b.git"}}`), Push{}, ErrMalformed},
		{"short ref", GitHub, headers(HeaderGitHubEvent, "push"), []byte(`{"ref": "main", "repository": {"clone_url": "https://github.com/a/b.git"}}`), Push{}, ErrMalformed},
		{"ref with a newline", GitHub, headers(HeaderGitHubEvent, "push"), []byte(`{"ref": "refs/heads/ma\nin", "repository": {"clone_url": "https://github.com/a/b.git"}}`), Push{}, ErrMalformed},
		{"no ref", GitHub, headers(HeaderGitHubEvent, "push"), []byte(`{"repository": {"clone_url": "https://github.com/a/b.git"}}`), Push{}, ErrMalformed},
		{"no repository", GitHub, headers(HeaderGitHubEvent, "push"), []byte(`{"ref": "refs/heads/main"}`), Push{}, ErrMalformed},
		{"after not hex", GitHub, headers(HeaderGitHubEvent, "push"), []byte(`{"ref": "refs/heads/main", "after": "HEAD", "repository": {"clone_url": "https://github.com/a/b.git"}}`), Push{}, ErrMalformed},
		{"form without payload", GitHub, headers(HeaderGitHubEvent, "push", "Content-Type", formType), []byte("ref=refs%2Fheads%2Fmain"), Push{}, ErrMalformed},
		{"form with bad escape", GitHub, headers(HeaderGitHubEvent, "push", "Content-Type", formType), []byte("payload=%zz"), Push{}, ErrMalformed},
	})
}

func TestParseGitLab(t *testing.T) {
	push := readTestdata(t, "gitlab-push.json")
	tag := readTestdata(t, "gitlab-tag-push.json")
	runParse(t, []parseCase{
		{"push", GitLab, headers(HeaderGitLabEvent, "Push Hook"), push,
			Push{Provider: GitLab, Repositories: gitlabRepos, Ref: "refs/heads/main", Commit: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"}, nil},
		{"tag push", GitLab, headers(HeaderGitLabEvent, "Tag Push Hook"), tag,
			Push{Provider: GitLab, Repositories: gitlabRepos, Ref: "refs/tags/v1.4.0", Commit: "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7"}, nil},
		{"system hook push", GitLab, headers(HeaderGitLabEvent, "System Hook"), push,
			Push{Provider: GitLab, Repositories: gitlabRepos, Ref: "refs/heads/main", Commit: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"}, nil},
		{"system hook merge request", GitLab, headers(HeaderGitLabEvent, "System Hook"), readTestdata(t, "gitlab-merge-request.json"), Push{}, ErrIgnored},
		{"merge request", GitLab, headers(HeaderGitLabEvent, "Merge Request Hook"), readTestdata(t, "gitlab-merge-request.json"), Push{}, ErrIgnored},
		{"pipeline", GitLab, headers(HeaderGitLabEvent, "Pipeline Hook"), []byte(`{"object_kind":"pipeline"}`), Push{}, ErrIgnored},
		{"push hook with a tag_push body", GitLab, headers(HeaderGitLabEvent, "Push Hook"), tag, Push{}, ErrMalformed},
		{"no event header", GitLab, headers(), push, Push{}, ErrMalformed},
		{"truncated JSON", GitLab, headers(HeaderGitLabEvent, "Push Hook"), push[:100], Push{}, ErrMalformed},
		{"project of the wrong type", GitLab, headers(HeaderGitLabEvent, "Push Hook"), []byte(`{"ref": "refs/heads/main", "project": "fleet"}`), Push{}, ErrMalformed},
		{"no project", GitLab, headers(HeaderGitLabEvent, "Push Hook"), []byte(`{"object_kind": "push", "ref": "refs/heads/main"}`), Push{}, ErrMalformed},
	})
}

func TestParseGitea(t *testing.T) {
	push := readTestdata(t, "gitea-push.json")
	want := Push{Provider: Gitea, Repositories: giteaRepos, Ref: "refs/heads/main", Commit: "bffeb74224043ba2feb48d137756c8a9331c449a"}
	runParse(t, []parseCase{
		{"gitea push", Gitea, headers(HeaderGiteaEvent, "push", "X-GitHub-Event", "push"), push, want, nil},
		{"forgejo push", Gitea, headers(HeaderForgejoEvent, "push", HeaderGiteaEvent, "push"), push, want, nil},
		{"push as form", Gitea, headers(HeaderGiteaEvent, "push", "Content-Type", formType+"; charset=utf-8"), form(push), want, nil},
		{"tag push", Gitea, headers(HeaderGiteaEvent, "push"), readTestdata(t, "gitea-push-tag.json"),
			Push{Provider: Gitea, Repositories: giteaRepos, Ref: "refs/tags/v2.0.0", Commit: "bffeb74224043ba2feb48d137756c8a9331c449a"}, nil},
		{"create tag", Gitea, headers(HeaderGiteaEvent, "create"), readTestdata(t, "gitea-create.json"), Push{}, ErrIgnored},
		{"forgejo create tag", Gitea, headers(HeaderForgejoEvent, "create", HeaderGiteaEvent, "create"), readTestdata(t, "gitea-create.json"), Push{}, ErrIgnored},
		{"delete", Gitea, headers(HeaderGiteaEvent, "delete"), []byte(`{"ref":"v2.0.0","ref_type":"tag"}`), Push{}, ErrIgnored},
		{"issues", Gitea, headers(HeaderGiteaEvent, "issues"), []byte(`{}`), Push{}, ErrIgnored},
		{"only a GitHub event header", Gitea, headers("X-GitHub-Event", "push"), push, Push{}, ErrMalformed},
		{"truncated JSON", Gitea, headers(HeaderGiteaEvent, "push"), push[:len(push)-2], Push{}, ErrMalformed},
		{"repository URLs empty", Gitea, headers(HeaderGiteaEvent, "push"), []byte(`{"ref": "refs/heads/main", "repository": {"clone_url": "", "html_url": " "}}`), Push{}, ErrMalformed},
	})
}

func TestParseGeneric(t *testing.T) {
	repo := []string{"https://git.acme.example/platform/fleet.git"}
	runParse(t, []parseCase{
		{"push", Generic, headers(), readTestdata(t, "generic-push.json"),
			Push{Provider: Generic, Repositories: repo, Ref: "refs/heads/main", Commit: "4b825dc642cb6eb9a060e54bf8d69288fbee4904"}, nil},
		{"tag, no commit", Generic, headers(), []byte(`{"repository": "https://git.acme.example/platform/fleet.git", "ref": "refs/tags/v1.0.0"}`),
			Push{Provider: Generic, Repositories: repo, Ref: "refs/tags/v1.0.0"}, nil},
		{"SHA-256 commit", Generic, headers(), []byte(`{"repository": "https://git.acme.example/platform/fleet.git", "ref": "refs/heads/main", "commit": "` + "AB" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd" + `"}`),
			Push{Provider: Generic, Repositories: repo, Ref: "refs/heads/main", Commit: "ab0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"}, nil},
		{"deleted", Generic, headers(), []byte(`{"repository": "https://git.acme.example/platform/fleet.git", "ref": "refs/heads/old", "commit": "0000000000000000000000000000000000000000"}`),
			Push{Provider: Generic, Repositories: repo, Ref: "refs/heads/old", Deleted: true}, nil},
		{"misspelt field", Generic, headers(), []byte(`{"repository": "https://git.acme.example/platform/fleet.git", "ref": "refs/heads/main", "comit": "4b825dc642cb6eb9a060e54bf8d69288fbee4904"}`), Push{}, ErrMalformed},
		{"no repository", Generic, headers(), []byte(`{"ref": "refs/heads/main"}`), Push{}, ErrMalformed},
		{"short ref", Generic, headers(), []byte(`{"repository": "https://git.acme.example/platform/fleet.git", "ref": "main"}`), Push{}, ErrMalformed},
		{"bare refs/", Generic, headers(), []byte(`{"repository": "https://git.acme.example/platform/fleet.git", "ref": "refs/"}`), Push{}, ErrMalformed},
		{"short commit", Generic, headers(), []byte(`{"repository": "https://git.acme.example/platform/fleet.git", "ref": "refs/heads/main", "commit": "4b825dc"}`), Push{}, ErrMalformed},
		{"truncated JSON", Generic, headers(), []byte(`{"repository": "https://git.acme.example/platform/fleet.git", "ref": "refs/he`), Push{}, ErrMalformed},
		{"form body", Generic, headers("Content-Type", formType), form(readTestdata(t, "generic-push.json")), Push{}, ErrMalformed},
	})
}

func TestParseUnknownProvider(t *testing.T) {
	if _, err := Parse("bitbucket", headers(), readTestdata(t, "generic-push.json")); !errors.Is(err, ErrProvider) {
		t.Fatalf("Parse: %v, want ErrProvider", err)
	}
}

// TestVerifyThenParse runs each provider's testdata push through Verify and Parse as the server
// does, signed with the right secret, then with a wrong one.
func TestVerifyThenParse(t *testing.T) {
	tests := []struct {
		p     Provider
		event http.Header
		file  string
		ref   string
	}{
		{GitHub, headers(HeaderGitHubEvent, "push"), "github-push.json", "refs/heads/main"},
		{GitHub, headers(HeaderGitHubEvent, "push"), "github-push-tag.json", "refs/tags/v1.4.0"},
		{GitLab, headers(HeaderGitLabEvent, "Push Hook"), "gitlab-push.json", "refs/heads/main"},
		{GitLab, headers(HeaderGitLabEvent, "Tag Push Hook"), "gitlab-tag-push.json", "refs/tags/v1.4.0"},
		{Gitea, headers(HeaderGiteaEvent, "push"), "gitea-push.json", "refs/heads/main"},
		{Gitea, headers(HeaderGiteaEvent, "push"), "gitea-push-tag.json", "refs/tags/v2.0.0"},
		{Generic, headers(), "generic-push.json", "refs/heads/main"},
	}
	for _, tt := range tests {
		t.Run(string(tt.p)+"/"+tt.file, func(t *testing.T) {
			body := readTestdata(t, tt.file)
			h := merge(tt.event, Sign(tt.p, body, testSecret))
			if err := Verify(tt.p, h, body, testSecret); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			push, err := Parse(tt.p, h, body)
			if err != nil || push.Ref != tt.ref {
				t.Fatalf("Parse: %+v, %v; want ref %s", push, err, tt.ref)
			}
			wrong := merge(tt.event, Sign(tt.p, body, []byte("not the secret")))
			if err := Verify(tt.p, wrong, body, testSecret); !errors.Is(err, ErrSignature) {
				t.Fatalf("Verify with a wrong secret: %v, want ErrSignature", err)
			}
		})
	}
}
