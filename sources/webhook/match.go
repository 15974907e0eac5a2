package webhook

import (
	"strings"

	"github.com/flotilla-dev/flotilla/config"
)

// Matches reports whether the push concerns the Source, so that the Source is worth fetching:
// one of the push's repository URLs normalises (NormalizeRepoURL) to the Source's spec.url, and
// its ref is what the Source follows: refs/heads/BRANCH for spec.ref.branch, refs/tags/TAG for
// spec.ref.tag, any tag for spec.ref.semver (a new or moved tag may be the highest match). A
// Source pinned to spec.ref.commit never matches: no push changes what it deploys.
func (p Push) Matches(src *config.Source) bool {
	if src == nil || !p.refMatches(src.Spec.Ref) {
		return false
	}
	want := NormalizeRepoURL(src.Spec.URL)
	if want == "" {
		return false
	}
	for _, repo := range p.Repositories {
		if NormalizeRepoURL(repo) == want {
			return true
		}
	}
	return false
}

func (p Push) refMatches(ref config.GitRef) bool {
	switch {
	case ref.Commit != "":
		return false
	case ref.Branch != "":
		return p.Ref == "refs/heads/"+ref.Branch
	case ref.Tag != "":
		return p.Ref == "refs/tags/"+ref.Tag
	case ref.Semver != "":
		tag, ok := strings.CutPrefix(p.Ref, "refs/tags/")
		return ok && tag != ""
	}
	return false
}
