package clusters

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FieldConflict is a field that another field manager set to a value Git does not hold: what a
// server-side apply without force refuses, naming both.
type FieldConflict struct {
	Manager string `json:"manager"`
	Field   string `json:"field"`
}

// conflictManager finds the manager in a conflict cause's message: `conflict with "kubectl-scale"
// using apps/v1`.
var conflictManager = regexp.MustCompile(`conflict with "([^"]*)"`)

// conflictsOf lists the fields a server-side apply conflict names, nil for any other error.
func conflictsOf(err error) []FieldConflict {
	var status apierrors.APIStatus
	if !apierrors.IsConflict(err) || !errors.As(err, &status) || status.Status().Details == nil {
		return nil
	}
	var conflicts []FieldConflict
	for _, cause := range status.Status().Details.Causes {
		if cause.Type != metav1.CauseTypeFieldManagerConflict {
			continue
		}
		manager := "another manager"
		if m := conflictManager.FindStringSubmatch(cause.Message); m != nil {
			manager = m[1]
		}
		conflicts = append(conflicts, FieldConflict{Manager: manager, Field: cause.Field})
	}
	return conflicts
}

// describeConflicts is "kubectl-scale: .spec.replicas; kubectl-edit: .data.a, .data.b": which
// manager set which fields, managers in the order they were first named.
func describeConflicts(conflicts []FieldConflict) string {
	var managers []string
	fields := map[string][]string{}
	for _, c := range conflicts {
		if _, ok := fields[c.Manager]; !ok {
			managers = append(managers, c.Manager)
		}
		fields[c.Manager] = append(fields[c.Manager], c.Field)
	}
	parts := make([]string, len(managers))
	for i, m := range managers {
		parts[i] = m + ": " + strings.Join(slices.Compact(fields[m]), ", ")
	}
	return strings.Join(parts, "; ")
}

// tookBack is the reason of a change that forced fields back from other managers.
func tookBack(conflicts []FieldConflict) string {
	if len(conflicts) == 0 {
		return "took back fields other managers had set"
	}
	return "took back from " + describeConflicts(conflicts)
}

// tookOver is the reason of a change that adopted an object and took fields over from the
// managers that had set them (its creator, say).
func tookOver(conflicts []FieldConflict) string {
	if len(conflicts) == 0 {
		return "took over fields other managers had set"
	}
	return "took over from " + describeConflicts(conflicts)
}

// conflictAdvice is what to do about a conflict.
const conflictAdvice = "the App's drift.mode is not enforce: sync with --force-conflicts (or set spec.drift.mode: enforce) to take them back"

// healAdvice is what to do about a list that needs writing whole (see listHeal).
const healAdvice = "the App's drift.mode is not enforce: sync with --force-conflicts or set spec.drift.mode: enforce to write Git's list"

// applyResolvingConflicts applies d with apply (a write, or a server-side dry run), unforced
// first, to learn what conflicts with other field managers: the fields the ignore rules leave
// to them are no longer sent (d without them is applied again, still unforced), so they are
// never taken, not even when adopting; then, when force or adopting, the remaining ones are
// taken (applied forced). It returns the last apply's result and error (a conflict, unforced,
// when neither force nor adopting), the object as applied, and the conflicts left and taken.
// Apply and Diff share it, so that a dry run meets the conflicts the sync meets.
func applyResolvingConflicts[T any](d *desiredObject, ignore Ignore, adopting, force bool, apply func(*desiredObject, bool) (T, error)) (result T, applied *desiredObject, left, taken []FieldConflict, err error) {
	result, err = apply(d, false)
	if left, _ = ignore.split(d.id, conflictsOf(err)); len(left) > 0 {
		d = d.without(left)
		result, err = apply(d, false)
	}
	if taken = conflictsOf(err); taken != nil && (force || adopting) {
		result, err = apply(d, true)
	} else {
		taken = nil
	}
	return result, d, left, taken, err
}

// conflictNote says what a sync without force runs into: `conflict with "hotfix": .data.value;`
// and what to do.
func conflictNote(conflicts []FieldConflict) string {
	what := "another field manager owns fields Git sets"
	if len(conflicts) > 0 {
		parts := make([]string, len(conflicts))
		for i, c := range conflicts {
			parts[i] = fmt.Sprintf("conflict with %q: %s", c.Manager, c.Field)
		}
		what = strings.Join(parts, ", ")
	}
	return what + "; " + conflictAdvice
}
