package gitrepo

import (
	"fmt"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"

	flotillaconfig "github.com/flotilla-dev/flotilla/config"
)

// target is what a Source's ref resolves to on the remote.
type target struct {
	// hash is the advertised object: a commit, or an annotated tag object.
	hash plumbing.Hash
	// localRef is where the fetch stores it; empty for a commit ref.
	localRef plumbing.ReferenceName
	// refSpecs fetch exactly what is needed.
	refSpecs []config.RefSpec
	// describe is the Revision.Ref text; tag is the tag name for tag and semver refs.
	describe, tag string
	// tracksRewrites is true for a branch or tag, whose history rewrites are worth reporting.
	tracksRewrites bool
}

// resolveRef finds the Source's ref among the advertised refs of the remote at url (redacted).
func resolveRef(ref flotillaconfig.GitRef, url string, advertised []*plumbing.Reference) (target, error) {
	byName := map[plumbing.ReferenceName]plumbing.Hash{}
	for _, r := range advertised {
		if r.Type() == plumbing.HashReference {
			byName[r.Name()] = r.Hash()
		}
	}
	switch {
	case ref.Branch != "":
		name := plumbing.NewBranchReferenceName(ref.Branch)
		hash, ok := byName[name]
		if !ok {
			return target{}, inField("spec.ref.branch", &RefNotFoundError{Kind: "branch", Name: ref.Branch, URL: url, Available: shortNames(byName, "refs/heads/")})
		}
		return target{hash: hash, localRef: name, refSpecs: []config.RefSpec{refSpec(name)}, describe: "branch " + ref.Branch, tracksRewrites: true}, nil
	case ref.Tag != "":
		name := plumbing.NewTagReferenceName(ref.Tag)
		hash, ok := byName[name]
		if !ok {
			return target{}, inField("spec.ref.tag", &RefNotFoundError{Kind: "tag", Name: ref.Tag, URL: url, Available: shortNames(byName, "refs/tags/")})
		}
		return target{hash: hash, localRef: name, refSpecs: []config.RefSpec{refSpec(name)}, describe: "tag " + ref.Tag, tag: ref.Tag, tracksRewrites: true}, nil
	case ref.Semver != "":
		t, err := resolveSemver(ref.Semver, url, byName)
		if err != nil {
			return target{}, inField("spec.ref.semver", err)
		}
		return t, nil
	case ref.Commit != "":
		return target{
			hash:     plumbing.NewHash(ref.Commit),
			refSpecs: []config.RefSpec{"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"},
			describe: "commit " + ref.Commit,
		}, nil
	}
	return target{}, fmt.Errorf("the Source names no ref")
}

func resolveSemver(constraint, url string, byName map[plumbing.ReferenceName]plumbing.Hash) (target, error) {
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return target{}, fmt.Errorf("semver range %q: %w", constraint, err)
	}
	var best *semver.Version
	var bestName plumbing.ReferenceName
	for name := range byName {
		if !name.IsTag() {
			continue
		}
		v, err := semver.NewVersion(name.Short())
		if err != nil || !c.Check(v) {
			continue
		}
		if best == nil || v.GreaterThan(best) || (v.Equal(best) && name < bestName) {
			best, bestName = v, name
		}
	}
	if best == nil {
		tags := shortNames(byName, "refs/tags/")
		if len(tags) == 0 {
			return target{}, fmt.Errorf("no tag of %s matches semver range %q; the remote has no tags: push a release tag, or fix the URL", url, constraint)
		}
		return target{}, fmt.Errorf("no tag of %s matches semver range %q; the remote has tags %s: widen the range or push a matching tag", url, constraint, namesList(tags))
	}
	return target{
		hash: byName[bestName], localRef: bestName, refSpecs: []config.RefSpec{refSpec(bestName)},
		describe: fmt.Sprintf("semver %s → %s", constraint, bestName.Short()), tag: bestName.Short(),
	}, nil
}

func refSpec(name plumbing.ReferenceName) config.RefSpec {
	return config.RefSpec("+" + name.String() + ":" + name.String())
}

// shortNames lists the advertised names under prefix without it, sorted.
func shortNames(byName map[plumbing.ReferenceName]plumbing.Hash, prefix string) []string {
	var names []string
	for name := range byName {
		if short, ok := strings.CutPrefix(name.String(), prefix); ok {
			names = append(names, short)
		}
	}
	sort.Strings(names)
	return names
}

// DescribeRef says which revision a Source's ref asks for, as Revision.Ref says which one it
// resolved to: "branch main", "tag v1.2.0", "semver >=1.0.0", "commit 0123456789ab".
func DescribeRef(ref flotillaconfig.GitRef) string {
	switch {
	case ref.Branch != "":
		return "branch " + ref.Branch
	case ref.Tag != "":
		return "tag " + ref.Tag
	case ref.Semver != "":
		return "semver " + ref.Semver
	case len(ref.Commit) > 12:
		return "commit " + ref.Commit[:12]
	case ref.Commit != "":
		return "commit " + ref.Commit
	}
	return ""
}
