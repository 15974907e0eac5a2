package policies

import "fmt"

// PruneGuard decides whether a sync may remove objects.
type PruneGuard struct {
	// AllowEmpty lets a render with no objects through, which removes everything.
	AllowEmpty bool
	// MaxShare is the largest share (0 to 1) of the managed objects one sync may prune; 0 means
	// no limit beyond the empty-render rule.
	MaxShare float64
}

// RefusalError is a guard's refusal, with the reason.
type RefusalError struct{ Reason string }

func (e *RefusalError) Error() string { return "refused: " + e.Reason }

// CheckRender refuses an empty render unless it is allowed: an empty render usually means a
// wrong path or a broken overlay, and applying it with prune would delete everything.
func (g PruneGuard) CheckRender(desired int) error {
	if desired == 0 && !g.AllowEmpty {
		return &RefusalError{Reason: "the render holds no objects; nothing was applied or pruned (set spec.sync.allowEmpty: true if an empty App is intended)"}
	}
	return nil
}

// CheckPrune refuses to prune more than MaxShare of the managed objects.
func (g PruneGuard) CheckPrune(managed, toPrune int) error {
	if g.MaxShare <= 0 || managed == 0 || toPrune == 0 {
		return nil
	}
	if share := float64(toPrune) / float64(managed); share > g.MaxShare {
		return &RefusalError{Reason: fmt.Sprintf("pruning %d of %d managed objects (%.0f%%) is more than the allowed %.0f%%; nothing was pruned", toPrune, managed, share*100, g.MaxShare*100)}
	}
	return nil
}
