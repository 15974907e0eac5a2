package history

import (
	"context"
	"fmt"
	"slices"
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
// A). When there is none, or to names more than one commit, the error is a *NoRevisionError.
func (l *Ledger) RollbackTarget(ctx context.Context, app, cluster, to string, steps int) (target, current *Change, err error) {
	changes, err := l.List(ctx, Filter{App: app, Cluster: cluster, Limit: 1000})
	if err != nil {
		return nil, nil, err
	}
	var applied []*Change // newest first, one per render
	seen := map[string]bool{}
	for i := range changes {
		c := &changes[i]
		if c.Snapshot == "" || !slices.Contains(Applied, c.Result) {
			continue
		}
		if current == nil {
			current = c // what runs now, rollback or not
		}
		if c.Trigger == TriggerRollback || c.Trigger == TriggerAutoRollback || seen[c.Digest] {
			continue
		}
		seen[c.Digest] = true
		applied = append(applied, c)
	}
	none := func(format string, args ...any) error {
		return &NoRevisionError{App: app, Cluster: cluster, Problem: fmt.Sprintf(format, args...)}
	}
	if current == nil {
		return nil, nil, none("the ledger holds no applied revision to roll back to")
	}
	if to != "" {
		to = strings.ToLower(to)
		var match *Change
		for _, c := range applied {
			if !strings.HasPrefix(c.Revision.Commit, to) {
				continue
			}
			if match == nil {
				match = c
			} else if match.Revision.Commit != c.Revision.Commit {
				return nil, current, none("%s names more than one applied revision (%s, %s): give more digits", to, match.Revision.Commit, c.Revision.Commit)
			}
		}
		if match == nil {
			return nil, current, none("the ledger holds no applied revision %s (flotilla history --app %s --cluster %s lists them)", to, app, cluster)
		}
		return match, current, nil
	}
	if steps < 1 {
		return nil, current, none("say where to roll back to: a revision or a number of steps")
	}
	// Count from where the revision running now came in from Git.
	before := applied
	for i, c := range applied {
		if c.Digest == current.Digest {
			before = applied[i+1:]
			break
		}
	}
	if steps > len(before) {
		return nil, current, none("the ledger holds %s before the current one, not %d", revisions(len(before)), steps)
	}
	return before[steps-1], current, nil
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
