package gitrepo

import (
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"
)

// Revision is the commit a Source's ref points at, with what an auditor wants to know of it.
type Revision struct {
	// Source is the Source's name.
	Source string `json:"source"`
	// Ref says how the commit was chosen: "branch main", "tag v1.2.0", "semver >=1.0.0 → v1.4.2",
	// "commit 3f2a…".
	Ref string `json:"ref"`
	// Tag is the tag that named the commit, for tag and semver refs.
	Tag       string         `json:"tag,omitempty"`
	Commit    string         `json:"commit"`
	Author    Person         `json:"author"`
	Committer Person         `json:"committer"`
	Message   string         `json:"message"`
	Signature SignatureCheck `json:"signature"`
}

// Person is a commit's author or committer.
type Person struct {
	Name  string    `json:"name"`
	Email string    `json:"email"`
	When  time.Time `json:"when"`
}

// String is "Name <email>".
func (p Person) String() string { return p.Name + " <" + p.Email + ">" }

// Subject is the first line of the commit message.
func (r Revision) Subject() string {
	subject, _, _ := strings.Cut(strings.TrimSpace(r.Message), "\n")
	return subject
}

// ShortCommit is the first 12 characters of the commit SHA.
func (r Revision) ShortCommit() string {
	if len(r.Commit) > 12 {
		return r.Commit[:12]
	}
	return r.Commit
}

func person(s object.Signature) Person {
	return Person{Name: s.Name, Email: s.Email, When: s.When.UTC()}
}
