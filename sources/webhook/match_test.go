package webhook

import (
	"testing"

	"github.com/flotilla-dev/flotilla/config"
)

func source(url string, ref config.GitRef) *config.Source {
	return &config.Source{Metadata: config.ObjectMeta{Name: "fleet"}, Spec: config.SourceSpec{URL: url, Ref: ref}}
}

func TestMatches(t *testing.T) {
	const repo = "https://github.com/Acme/fleet.git"
	branchPush := Push{Provider: GitHub, Repositories: githubRepos, Ref: "refs/heads/main", Commit: "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"}
	tagPush := Push{Provider: GitHub, Repositories: githubRepos, Ref: "refs/tags/v1.4.0"}
	otherTag := Push{Provider: GitHub, Repositories: githubRepos, Ref: "refs/tags/nightly"}
	deleted := Push{Provider: GitHub, Repositories: githubRepos, Ref: "refs/heads/main", Deleted: true}
	tests := []struct {
		name string
		push Push
		src  *config.Source
		want bool
	}{
		{"branch", branchPush, source(repo, config.GitRef{Branch: "main"}), true},
		{"branch, Source written as scp", branchPush, source("git@github.com:Acme/fleet.git", config.GitRef{Branch: "main"}), true},
		{"branch, Source written as ssh with port", branchPush, source("ssh://git@github.com:22/Acme/fleet", config.GitRef{Branch: "main"}), true},
		{"branch, Source over http with host case", branchPush, source("http://GitHub.com/Acme/fleet/", config.GitRef{Branch: "main"}), true},
		{"branch deleted", deleted, source(repo, config.GitRef{Branch: "main"}), true},
		{"other branch", branchPush, source(repo, config.GitRef{Branch: "release"}), false},
		{"branch named like the tag", tagPush, source(repo, config.GitRef{Branch: "v1.4.0"}), false},
		{"branch Source, tag push", tagPush, source(repo, config.GitRef{Branch: "main"}), false},
		{"other repository", branchPush, source("https://github.com/Acme/fleet-staging.git", config.GitRef{Branch: "main"}), false},
		{"other path case", branchPush, source("https://github.com/acme/fleet.git", config.GitRef{Branch: "main"}), false},
		{"other host", branchPush, source("https://gitlab.com/Acme/fleet.git", config.GitRef{Branch: "main"}), false},
		{"tag", tagPush, source(repo, config.GitRef{Tag: "v1.4.0"}), true},
		{"other tag", otherTag, source(repo, config.GitRef{Tag: "v1.4.0"}), false},
		{"tag Source, branch push", branchPush, source(repo, config.GitRef{Tag: "v1.4.0"}), false},
		{"semver, tag in range", tagPush, source(repo, config.GitRef{Semver: ">=1.0.0 <2.0.0"}), true},
		{"semver, any tag", otherTag, source(repo, config.GitRef{Semver: "~1.4"}), true},
		{"semver, branch push", branchPush, source(repo, config.GitRef{Semver: ">=1.0.0"}), false},
		{"semver, other repository", tagPush, source("https://github.com/Acme/other.git", config.GitRef{Semver: ">=1.0.0"}), false},
		{"commit pinned, branch push", branchPush, source(repo, config.GitRef{Commit: "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"}), false},
		{"commit pinned, tag push", tagPush, source(repo, config.GitRef{Commit: "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"}), false},
		{"no ref", branchPush, source(repo, config.GitRef{}), false},
		{"nil Source", branchPush, nil, false},
		{"Source URL not a repository", branchPush, source("https://github.com/", config.GitRef{Branch: "main"}), false},
		{"push without repositories", Push{Ref: "refs/heads/main"}, source(repo, config.GitRef{Branch: "main"}), false},
		{"push with an empty URL", Push{Repositories: []string{""}, Ref: "refs/heads/main"}, source("", config.GitRef{Branch: "main"}), false},
		{"tag push for refs/tags/ alone", Push{Repositories: githubRepos, Ref: "refs/tags/"}, source(repo, config.GitRef{Semver: ">=1.0.0"}), false},
		{"gitea ssh form with its port", Push{Repositories: giteaRepos, Ref: "refs/heads/main"}, source("ssh://git@git.acme.example:2222/platform/fleet", config.GitRef{Branch: "main"}), true},
		{"gitea https form matches an ssh Source on the default port", Push{Repositories: giteaRepos, Ref: "refs/heads/main"}, source("ssh://git@git.acme.example/platform/fleet", config.GitRef{Branch: "main"}), true},
		{"ssh port differs from the Source's", Push{Repositories: giteaRepos, Ref: "refs/heads/main"}, source("ssh://git@git.acme.example:2200/platform/fleet", config.GitRef{Branch: "main"}), false},
		{"gitlab subgroup", Push{Repositories: gitlabRepos, Ref: "refs/tags/v1.4.0"}, source("https://gitlab.acme.example/platform/deploy/fleet", config.GitRef{Tag: "v1.4.0"}), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.push.Matches(tt.src); got != tt.want {
				t.Fatalf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
}
