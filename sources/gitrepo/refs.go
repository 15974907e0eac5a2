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

// resolveRef finds the Source's ref among the remote's advertised refs.
func resolveRef(ref flotillaconfig.GitRef, advertised []*plumbing.Reference) (target, error) {
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
			return target{}, fmt.Errorf("branch %q not found on the remote%s", ref.Branch, listNames(byName, "refs/heads/", "branches"))
		}
		return target{hash: hash, localRef: name, refSpecs: []config.RefSpec{refSpec(name)}, describe: "branch " + ref.Branch, tracksRewrites: true}, nil
	case ref.Tag != "":
		name := plumbing.NewTagReferenceName(ref.Tag)
		hash, ok := byName[name]
		if !ok {
			return target{}, fmt.Errorf("tag %q not found on the remote%s", ref.Tag, listNames(byName, "refs/tags/", "tags"))
		}
		return target{hash: hash, localRef: name, refSpecs: []config.RefSpec{refSpec(name)}, describe: "tag " + ref.Tag, tag: ref.Tag, tracksRewrites: true}, nil
	case ref.Semver != "":
		return resolveSemver(ref.Semver, byName)
	case ref.Commit != "":
		return target{
			hash:     plumbing.NewHash(ref.Commit),
			refSpecs: []config.RefSpec{"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"},
			describe: "commit " + ref.Commit,
		}, nil
	}
	return target{}, fmt.Errorf("the Source names no ref")
}

func resolveSemver(constraint string, byName map[plumbing.ReferenceName]plumbing.Hash) (target, error) {
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
		return target{}, fmt.Errorf("no tag matches semver range %q%s", constraint, listNames(byName, "refs/tags/", "tags"))
	}
	return target{
		hash: byName[bestName], localRef: bestName, refSpecs: []config.RefSpec{refSpec(bestName)},
		describe: fmt.Sprintf("semver %s → %s", constraint, bestName.Short()), tag: bestName.Short(),
	}, nil
}

func refSpec(name plumbing.ReferenceName) config.RefSpec {
	return config.RefSpec("+" + name.String() + ":" + name.String())
}

// listNames lists up to 10 advertised names under prefix, for an error that says what exists.
func listNames(byName map[plumbing.ReferenceName]plumbing.Hash, prefix, what string) string {
	var names []string
	for name := range byName {
		if strings.HasPrefix(name.String(), prefix) {
			names = append(names, strings.TrimPrefix(name.String(), prefix))
		}
	}
	if len(names) == 0 {
		return "; the remote has no " + what
	}
	sort.Strings(names)
	more := ""
	if len(names) > 10 {
		more = fmt.Sprintf(" and %d more", len(names)-10)
		names = names[:10]
	}
	return fmt.Sprintf("; the remote has %s %s%s", what, strings.Join(names, ", "), more)
}
