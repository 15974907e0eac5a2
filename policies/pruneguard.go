package policies

import "fmt"

// PruneGuard decides whether a sync may remove objects. It is asked before anything is applied:
// a render it refuses is suspect as a whole (a wrong path, a broken overlay, a bad merge), so
// none of it is applied.
type PruneGuard struct {
	// AllowEmpty lets a render with no objects through, which removes everything.
	AllowEmpty bool
	// MaxShare is the largest share (0 to 1) of the managed objects one sync may prune. 0 is the
	// default rule: anything but all of them; 1 allows all.
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

// CheckPrune refuses to prune more than MaxShare of the managed objects, and by default to
// prune all of them while the render still holds objects (every object renamed or moved at
// once looks like a mistake). An allowed empty render may prune everything, within MaxShare.
func (g PruneGuard) CheckPrune(managed, toPrune, desired int) error {
	if managed == 0 || toPrune == 0 {
		return nil
	}
	share := float64(toPrune) / float64(managed)
	switch {
	case g.MaxShare > 0 && share > g.MaxShare:
		return &RefusalError{Reason: fmt.Sprintf("pruning %d of %d managed objects (%.0f%%) is more than the allowed %.0f%%; nothing was applied or pruned", toPrune, managed, share*100, g.MaxShare*100)}
	case g.MaxShare <= 0 && toPrune == managed && !(desired == 0 && g.AllowEmpty):
		return &RefusalError{Reason: fmt.Sprintf("pruning all %d managed objects: none of them is in the render (%s); nothing was applied or pruned", managed, objects(desired))}
	}
	return nil
}

// objects is "1 object" or "N objects".
func objects(n int) string {
	if n == 1 {
		return "1 object"
	}
	return fmt.Sprintf("%d objects", n)
}
