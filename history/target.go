package history

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// NoRevisionError says that the ledger holds no revision a rollback of the App on the cluster
// can go back to.
type NoRevisionError struct {
	App, Cluster string
	// Problem says what the ledger lacks.
	Problem string
}

func (e *NoRevisionError) Error() string {
	return fmt.Sprintf("App %s on cluster %s: %s", e.App, e.Cluster, e.Problem)
}

// RollbackTarget is the change a rollback of app on cluster restores, and the change applied
// now. Among the pair's changes that applied a revision whole and kept its snapshot, newest
// first, each render counted once: the newest whose commit starts with to, or (to "") the one
// steps revisions before the one applied now, in the order the revisions came from Git
// (rollbacks are not revisions of their own: after a rollback to B of A, B, C, one step back is
// A). Every change the ledger holds for the pair counts, however many: they are read a page at
// a time. When there is none, or to names more than one commit, the error is a
// *NoRevisionError.
func (l *Ledger) RollbackTarget(ctx context.Context, app, cluster, to string, steps int) (target, current *Change, err error) {
	none := func(format string, args ...any) error {
		return &NoRevisionError{App: app, Cluster: cluster, Problem: fmt.Sprintf(format, args...)}
	}
	current, err = l.Last(ctx, app, cluster, Applied...) // what runs now, rollback or not
	if err != nil {
		return nil, nil, err
	}
	if current == nil {
		return nil, nil, none("the ledger holds no applied revision to roll back to")
	}
	if to != "" {
		target, err := l.revisionTarget(ctx, app, cluster, strings.ToLower(to))
		var nre *NoRevisionError
		if errors.As(err, &nre) {
			return nil, current, none("%s", nre.Problem)
		}
		return target, current, err
	}
	if steps < 1 {
		return nil, current, none("say where to roll back to: a revision or a number of steps")
	}
	// Count from where the revision running now came in from Git: the revisions before it, once
	// it is found (all of them if it is not, as when retention dropped it).
	var all, before []int64
	seen := map[string]bool{}
	err = l.eachEnded(ctx, app, cluster, "", Applied, func(c *Change) error {
		if isRollback(c) || seen[c.Digest] {
			return nil
		}
		seen[c.Digest] = true
		switch {
		case before != nil:
			before = append(before, c.ID)
		case c.Digest == current.Digest:
			before = []int64{}
		default:
			all = append(all, c.ID)
		}
		if before != nil && len(before) >= steps {
			return errStop
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if before == nil {
		before = all
	}
	if steps > len(before) {
		return nil, current, none("the ledger holds %s before the current one, not %d", revisions(len(before)), steps)
	}
	target, err = l.Get(ctx, before[steps-1])
	if err != nil {
		return nil, nil, err
	}
	return target, current, nil
}

// isRollback says whether c restored a recorded revision rather than one from Git.
func isRollback(c *Change) bool {
	return c.Trigger == TriggerRollback || c.Trigger == TriggerAutoRollback
}

// revisionTarget is the newest change of the pair (not a rollback) that applied a commit
// starting with to (lowercase), or a *NoRevisionError.
func (l *Ledger) revisionTarget(ctx context.Context, app, cluster, to string) (*Change, error) {
	var match *Change
	var problem string
	err := l.eachEnded(ctx, app, cluster, to, Applied, func(c *Change) error {
		switch {
		case isRollback(c):
		case match == nil:
			match = c
		case match.Revision.Commit != c.Revision.Commit:
			problem = fmt.Sprintf("%s names more than one applied revision (%s, %s): give more digits", to, match.Revision.Commit, c.Revision.Commit)
			return errStop
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, err
	case problem != "":
		return nil, &NoRevisionError{Problem: problem}
	case match == nil:
		return nil, &NoRevisionError{Problem: fmt.Sprintf("the ledger holds no applied revision %s (flotilla history --app %s --cluster %s lists them)", to, app, cluster)}
	}
	return match, nil
}

// revisions is "1 revision", "2 revisions", "no revision".
func revisions(n int) string {
	switch n {
	case 0:
		return "no revision"
	case 1:
		return "1 revision"
	}
	return strconv.Itoa(n) + " revisions"
}
