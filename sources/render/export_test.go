package render

import "time"

// SetMaxRemoteTime sets the time one render may spend fetching until the test ends.
func SetMaxRemoteTime(t interface{ Cleanup(func()) }, d time.Duration) {
	saved := maxRemoteTime
	maxRemoteTime = d
	t.Cleanup(func() { maxRemoteTime = saved })
}
