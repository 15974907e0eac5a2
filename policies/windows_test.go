package policies

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flotilla-dev/flotilla/config"
)

func windows(t *testing.T, ws ...config.SyncWindow) []Window {
	t.Helper()
	parsed, err := ParseWindows(ws)
	if err != nil {
		t.Fatal(err)
	}
	return parsed
}

func window(kind, schedule string, d time.Duration, tz string) config.SyncWindow {
	return config.SyncWindow{Kind: kind, Schedule: schedule, Duration: config.Duration{Duration: d}, TimeZone: tz}
}

func at(t *testing.T, tz, local string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", local, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestDecideWindows(t *testing.T) {
	prod := &config.Cluster{Metadata: config.ObjectMeta{Name: "prod", Labels: map[string]string{"env": "prod"}}}
	dev := &config.Cluster{Metadata: config.ObjectMeta{Name: "dev", Labels: map[string]string{"env": "dev"}}}
	nightly := window("deny", "0 22 * * *", 8*time.Hour, "Europe/Berlin")
	nightly.Name = "night"
	office := window("allow", "0 9 * * 1-5", 8*time.Hour, "Europe/Berlin")
	office.Name = "office hours"
	prodOnly := window("deny", "0 0 * * *", 24*time.Hour, "")
	prodOnly.Name, prodOnly.ClusterSelector = "prod freeze", metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}
	for _, tc := range []struct {
		name    string
		windows []config.SyncWindow
		cluster *config.Cluster
		now     time.Time
		allowed bool
		window  string
		until   time.Time
	}{
		{"no windows", nil, prod, at(t, "UTC", "2026-03-02 12:00"), true, "", time.Time{}},
		{"before a deny window", []config.SyncWindow{nightly}, prod, at(t, "Europe/Berlin", "2026-03-02 21:59"), true, "", time.Time{}},
		{"inside a deny window", []config.SyncWindow{nightly}, prod, at(t, "Europe/Berlin", "2026-03-02 23:30"), false, "night", at(t, "Europe/Berlin", "2026-03-03 06:00")},
		{"inside it after midnight", []config.SyncWindow{nightly}, prod, at(t, "Europe/Berlin", "2026-03-03 05:59"), false, "night", at(t, "Europe/Berlin", "2026-03-03 06:00")},
		{"its end is open", []config.SyncWindow{nightly}, prod, at(t, "Europe/Berlin", "2026-03-03 06:00"), true, "", time.Time{}},
		{"inside an allow window", []config.SyncWindow{office}, prod, at(t, "Europe/Berlin", "2026-03-02 10:00"), true, "", time.Time{}},
		{"outside every allow window: held until the next", []config.SyncWindow{office}, prod, at(t, "Europe/Berlin", "2026-03-06 18:00"), false, "office hours", at(t, "Europe/Berlin", "2026-03-09 09:00")},
		{"deny wins over allow", []config.SyncWindow{office, func() config.SyncWindow {
			w := window("deny", "0 12 * * *", time.Hour, "Europe/Berlin")
			w.Name = "lunch"
			return w
		}()}, prod, at(t, "Europe/Berlin", "2026-03-02 12:30"), false, "lunch", at(t, "Europe/Berlin", "2026-03-02 13:00")},
		{"a window of other clusters does not count", []config.SyncWindow{prodOnly}, dev, at(t, "UTC", "2026-03-02 12:00"), true, "", time.Time{}},
		{"a window of this cluster counts; back to back, it never ends", []config.SyncWindow{prodOnly}, prod, at(t, "UTC", "2026-03-02 12:00"), false, "prod freeze", time.Time{}},
		// Daylight saving: Berlin goes from UTC+1 to UTC+2 on 2026-03-29 at 02:00 and back on
		// 2026-10-25 at 03:00. The deny window still starts at 22:00 local time either side.
		{"DST spring: starts at 22:00 CEST", []config.SyncWindow{nightly}, prod, at(t, "Europe/Berlin", "2026-03-29 22:00"), false, "night", at(t, "Europe/Berlin", "2026-03-30 06:00")},
		{"DST spring: 21:30 CEST is before it", []config.SyncWindow{nightly}, prod, at(t, "Europe/Berlin", "2026-03-29 21:30"), true, "", time.Time{}},
		{"DST spring night: 8 hours from 22:00 CET end at 07:00 CEST", []config.SyncWindow{nightly}, prod, at(t, "Europe/Berlin", "2026-03-29 06:30"), false, "night", at(t, "Europe/Berlin", "2026-03-29 07:00")},
		{"DST autumn: starts at 22:00 CET", []config.SyncWindow{nightly}, prod, at(t, "Europe/Berlin", "2026-10-25 22:00"), false, "night", at(t, "Europe/Berlin", "2026-10-26 06:00")},
		{"DST autumn night: 8 hours from 22:00 CEST end at 05:00 CET", []config.SyncWindow{nightly}, prod, at(t, "Europe/Berlin", "2026-10-25 05:30"), true, "", time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := DecideWindows(windows(t, tc.windows...), tc.cluster, tc.now)
			if d.Allowed != tc.allowed || d.Window != tc.window || !d.Until.Equal(tc.until) {
				t.Errorf("at %s: allowed %v, window %q until %s; want %v, %q until %s", tc.now, d.Allowed, d.Window, d.Until, tc.allowed, tc.window, tc.until)
			}
		})
	}
}

func TestWindowsThatOverlapForeverNeverEnd(t *testing.T) {
	// Every hour for 90 minutes: once open, never closed.
	ws := windows(t, window("deny", "0 * * * *", 90*time.Minute, ""))
	open, until := ws[0].OpenAt(at(t, "UTC", "2026-03-02 12:10"))
	if !open || !until.IsZero() {
		t.Errorf("open %v until %s; want open with no end", open, until)
	}
}

func TestWindowEndFollowsTicksInsideIt(t *testing.T) {
	// Ticks at 10:00 and 10:45, an hour each: at 10:10 the window is open until 11:45.
	ws := windows(t, window("deny", "0,45 10 * * *", time.Hour, ""))
	open, until := ws[0].OpenAt(at(t, "UTC", "2026-03-02 10:10"))
	if !open || !until.Equal(at(t, "UTC", "2026-03-02 11:45")) {
		t.Errorf("open %v until %s; want open until 11:45", open, until)
	}
}
