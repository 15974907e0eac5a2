// Package webhook verifies and parses the push webhooks of Git hosts, and matches them to
// Sources. It owns the wire formats only: signatures and tokens, event headers, payload fields,
// and the normalisation of repository URLs. It serves no HTTP, touches no network and no Git
// repository: package server receives the requests (capping the body at MaxBody, answering
// 401, 400, 202 or 413) and asks this package what a request says.
//
// A webhook only says which Sources to fetch. What gets applied is always what the fetch finds
// in Git, never what a payload says: Push carries a repository, a ref and a commit for matching
// and logging, nothing else.
//
// # Use
//
// A receiver reads at most MaxBody bytes, then calls Verify with the provider's secret
// (ErrSignature: 401 without detail), then Parse (ErrMalformed: 400; ErrIgnored: 202 and
// nothing else), then Push.Matches for each Source to decide which to fetch.
//
// # Providers
//
//   - github: X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>. Events in
//     X-GitHub-Event: push is a Push (branches and tags alike); ping and every other event are
//     ErrIgnored. The body is JSON, or a form whose "payload" field is the JSON (GitHub's
//     "application/x-www-form-urlencoded" content type). Repositories: repository.clone_url,
//     html_url, ssh_url, git_url, svn_url and url.
//   - gitlab: X-Gitlab-Token holds the secret itself. X-Gitlab-Event: Push Hook and Tag Push
//     Hook are Pushes, as is a System Hook whose object_kind is push or tag_push; every other
//     event is ErrIgnored. Repositories: project.git_http_url, git_ssh_url, web_url, http_url,
//     ssh_url, url and repository.git_http_url, git_ssh_url, url, homepage.
//   - gitea (Gitea and Forgejo): X-Forgejo-Signature or, without it, X-Gitea-Signature:
//     <hex HMAC-SHA256 of the body>, no prefix. Events in X-Forgejo-Event or X-Gitea-Event:
//     push is a Push (a pushed tag is a push of refs/tags/…); create, delete and every other
//     event are ErrIgnored. JSON or form body as for GitHub. Repositories:
//     repository.clone_url, html_url and ssh_url.
//   - generic: for anything else that can run a command after a push (a Git server's
//     post-receive hook, a CI job). See below.
//
// A push that deletes a ref is a Push too (Deleted, with an empty Commit): the Source's next
// fetch then reports the missing branch, or picks another tag for a semver range.
//
// # The generic webhook
//
// POST a JSON object to the agent's /hooks/generic:
//
//	{"repository": "https://git.example.com/acme/fleet.git", "ref": "refs/heads/main", "commit": "<40 or 64 hex digits>"}
//
// with the header
//
//	X-Flotilla-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes, keyed with the secret>
//
// "repository" is any URL form of the repository (https, http, ssh, git or user@host:path; it
// is compared after NormalizeRepoURL), "ref" the full ref that changed (refs/heads/BRANCH or
// refs/tags/TAG), "commit" what the ref points at now (optional; empty or all zeros when the
// ref was deleted). Unknown fields are refused, so that a misspelt field is an error rather
// than ignored. For example, from a post-receive hook:
//
//	body='{"repository":"https://git.example.com/acme/fleet.git","ref":"refs/heads/main"}'
//	sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$SECRET" | sed 's/^.* //')
//	curl -fsS -H "X-Flotilla-Signature: sha256=$sig" -d "$body" http://127.0.0.1:7070/hooks/generic
//
// # Matching
//
// NormalizeRepoURL reduces every URL form of one repository to one string: the scheme (http,
// https, ssh, git, user@host:path) is dropped, as are user info, the default port of the
// scheme, a trailing ".git" and trailing slashes, a query and a fragment; the host is
// lower-cased; the path keeps its case, so github.com/Acme/Fleet and github.com/acme/fleet are
// different repositories here even where the host treats them as one. Push.Matches then
// compares the ref with the Source's: its branch; its tag; any tag for a semver range; never a
// Source pinned to a commit.
//
// # MaxBody
//
// MaxBody is 4 MiB. GitHub lists up to 2,048 commits in a push payload, each with its message
// and its added, removed and modified paths; TestMaxBodyFitsLargeGitHubPush builds such a
// payload from testdata/github-push.json (messages of about 300 bytes, ten paths of about 45
// bytes per commit) and measures 2.47 MiB of compact JSON, as GitHub sends it; 1 MiB would hold
// about 800 such commits. GitLab lists at most 20 commits and Gitea fewer by default, far below
// it. A larger body is refused (413) and its Source is still fetched at its poll interval.
package webhook
