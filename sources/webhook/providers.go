package webhook

import (
	"fmt"
	"net/http"
	"strings"
)

// githubPush holds the fields of GitHub's push event that Parse reads.
type githubPush struct {
	Ref        string `json:"ref"`
	After      string `json:"after"`
	Deleted    bool   `json:"deleted"`
	Repository struct {
		CloneURL string `json:"clone_url"`
		HTMLURL  string `json:"html_url"`
		SSHURL   string `json:"ssh_url"`
		GitURL   string `json:"git_url"`
		SVNURL   string `json:"svn_url"`
		URL      string `json:"url"`
	} `json:"repository"`
}

func parseGitHub(header http.Header, body []byte) (Push, error) {
	event, ok := eventHeader(header, HeaderGitHubEvent)
	switch {
	case !ok:
		return Push{}, fmt.Errorf("%w: no %s header", ErrMalformed, HeaderGitHubEvent)
	case event != "push":
		return Push{}, fmt.Errorf("%w: GitHub %q event", ErrIgnored, brief(event))
	}
	var p githubPush
	if err := decodeJSON(header, body, &p); err != nil {
		return Push{}, err
	}
	r := p.Repository
	return newPush(p.Ref, p.After, p.Deleted, r.CloneURL, r.HTMLURL, r.SSHURL, r.GitURL, r.SVNURL, r.URL)
}

// gitlabRepo holds the URL fields of GitLab's "project" and legacy "repository" objects.
type gitlabRepo struct {
	GitHTTPURL string `json:"git_http_url"`
	GitSSHURL  string `json:"git_ssh_url"`
	WebURL     string `json:"web_url"`
	HTTPURL    string `json:"http_url"`
	SSHURL     string `json:"ssh_url"`
	URL        string `json:"url"`
	Homepage   string `json:"homepage"`
}

// gitlabPush holds the fields of GitLab's push and tag push events that Parse reads.
type gitlabPush struct {
	ObjectKind string     `json:"object_kind"`
	Ref        string     `json:"ref"`
	After      string     `json:"after"`
	Project    gitlabRepo `json:"project"`
	Repository gitlabRepo `json:"repository"`
}

func parseGitLab(header http.Header, body []byte) (Push, error) {
	event, ok := eventHeader(header, HeaderGitLabEvent)
	switch {
	case !ok:
		return Push{}, fmt.Errorf("%w: no %s header", ErrMalformed, HeaderGitLabEvent)
	case event != "Push Hook" && event != "Tag Push Hook" && event != "System Hook":
		return Push{}, fmt.Errorf("%w: GitLab %q event", ErrIgnored, brief(event))
	}
	var p gitlabPush
	if err := decodeJSON(header, body, &p); err != nil {
		return Push{}, err
	}
	switch {
	case event == "System Hook" && p.ObjectKind != "push" && p.ObjectKind != "tag_push":
		// System hooks share one header for every kind of event.
		return Push{}, fmt.Errorf("%w: GitLab system hook %q", ErrIgnored, brief(p.ObjectKind))
	case event == "Push Hook" && p.ObjectKind != "" && p.ObjectKind != "push",
		event == "Tag Push Hook" && p.ObjectKind != "" && p.ObjectKind != "tag_push":
		return Push{}, fmt.Errorf("%w: GitLab %q event with object_kind %q", ErrMalformed, event, brief(p.ObjectKind))
	}
	pr, rr := p.Project, p.Repository
	return newPush(p.Ref, p.After, false,
		pr.GitHTTPURL, pr.GitSSHURL, pr.WebURL, pr.HTTPURL, pr.SSHURL, pr.URL,
		rr.GitHTTPURL, rr.GitSSHURL, rr.URL, rr.Homepage)
}

// giteaPush holds the fields of Gitea's and Forgejo's push event that Parse reads.
type giteaPush struct {
	Ref        string `json:"ref"`
	After      string `json:"after"`
	Repository struct {
		CloneURL string `json:"clone_url"`
		HTMLURL  string `json:"html_url"`
		SSHURL   string `json:"ssh_url"`
	} `json:"repository"`
}

func parseGitea(header http.Header, body []byte) (Push, error) {
	event, ok := eventHeader(header, HeaderForgejoEvent, HeaderGiteaEvent)
	switch {
	case !ok:
		return Push{}, fmt.Errorf("%w: no %s or %s header", ErrMalformed, HeaderForgejoEvent, HeaderGiteaEvent)
	case event != "push":
		// A pushed tag also comes as a push of refs/tags/…; "create" would repeat it.
		return Push{}, fmt.Errorf("%w: Gitea %q event", ErrIgnored, brief(event))
	}
	var p giteaPush
	if err := decodeJSON(header, body, &p); err != nil {
		return Push{}, err
	}
	r := p.Repository
	return newPush(p.Ref, p.After, false, r.CloneURL, r.HTMLURL, r.SSHURL)
}

// genericPush is the body of the generic webhook (see the package doc).
type genericPush struct {
	Repository string `json:"repository"`
	Ref        string `json:"ref"`
	Commit     string `json:"commit"`
}

func parseGeneric(body []byte) (Push, error) {
	var p genericPush
	if err := strictJSON(body, &p, true); err != nil {
		return Push{}, err
	}
	if strings.TrimSpace(p.Repository) == "" {
		return Push{}, fmt.Errorf("%w: \"repository\" is required", ErrMalformed)
	}
	return newPush(p.Ref, p.Commit, false, p.Repository)
}
