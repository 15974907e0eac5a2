package reconciler

import (
	"context"
	"net/mail"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/sources/gitrepo"
	"github.com/flotilla-dev/flotilla/sources/render"
)

// Revision is what a reconcile brings a pair to: a Source's checkout (*sources.Checkout),
// rendered for the pair, or a snapshot the ledger recorded, which a rollback restores without
// Git.
type Revision interface {
	Render(ctx context.Context, app *config.App, cluster *config.Cluster) (*render.Manifests, error)
	// Origins says where each rendered object came from, for error messages (nil: unknown).
	Origins(app *config.App, cluster *config.Cluster) map[object.ID]render.Origin
	// Describe is the commit.
	Describe() gitrepo.Revision
}

// Restored is a recorded snapshot as a Revision: the objects a change applied, with its
// commit, restored as they were (see Syncer.Rollback).
type Restored struct {
	Snapshot *history.Snapshot
	// From is the change whose snapshot it is.
	From *history.Change
}

// Render returns the snapshot's objects (copies), whatever the App and cluster.
func (s *Restored) Render(context.Context, *config.App, *config.Cluster) (*render.Manifests, error) {
	objects := make([]*unstructured.Unstructured, len(s.Snapshot.Objects))
	for i, obj := range s.Snapshot.Objects {
		objects[i] = obj.DeepCopy()
	}
	return &render.Manifests{Objects: objects, Digest: s.Snapshot.Digest}, nil
}

// Origins: a snapshot does not know its files.
func (s *Restored) Origins(*config.App, *config.Cluster) map[object.ID]render.Origin { return nil }

// Describe is the recorded commit.
func (s *Restored) Describe() gitrepo.Revision {
	rev := s.From.Revision
	return gitrepo.Revision{Source: rev.Source, Ref: rev.Ref, Commit: rev.Commit, Message: rev.Subject,
		Author: person(rev.Author), Committer: person(rev.Committer)}
}

// person parses "Name <email>".
func person(s string) gitrepo.Person {
	if a, err := mail.ParseAddress(s); err == nil {
		return gitrepo.Person{Name: a.Name, Email: a.Address}
	}
	return gitrepo.Person{Name: s}
}

// ledgerRevision is the revision as the ledger records it.
func ledgerRevision(rev Revision) history.Revision {
	if s, ok := rev.(*Restored); ok {
		return s.From.Revision
	}
	r := rev.Describe()
	out := history.Revision{Source: r.Source, Ref: r.Ref, Commit: r.Commit, Subject: r.Subject()}
	if r.Author.Name != "" || r.Author.Email != "" {
		out.Author = r.Author.String()
	}
	if r.Committer.Name != "" || r.Committer.Email != "" {
		out.Committer = r.Committer.String()
	}
	out.Signature = r.Signature.Status
	if r.Signature.Signer != "" {
		out.Signature += " (" + r.Signature.Kind + " " + r.Signature.Signer + ")"
	}
	return out
}
