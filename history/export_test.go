package history

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestExportTrailerShowsTruncation: an export ends with a sealed trailer, so that entries cut
// from its end show; an export without one (made before exports had trailers, or cut with its
// trailer) still verifies, with a warning that says what it cannot prove.
func TestExportTrailerShowsTruncation(t *testing.T) {
	ctx := context.Background()
	l, _ := openTest(t)
	for _, commit := range []string{"aaaa", "bbbb", "cccc"} {
		record(t, l, change("shop", "east", commit, TriggerPoll, "Healthy"))
	}
	var out bytes.Buffer
	if n, err := l.Export(ctx, &out, l.now().Add(-1e12)); err != nil || n != 6 {
		t.Fatalf("export: %d entries, %v; want 6", n, err)
	}
	lines := strings.SplitAfter(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 7 || !strings.HasPrefix(lines[6], `{"trailer":{"entries":6,"first":1,"last":6,`) {
		t.Fatalf("export of 6 entries: %d lines, the last %q; want 7, a trailer last", len(lines), lines[len(lines)-1])
	}
	verify := func(text string) *Verification {
		t.Helper()
		v, err := l.VerifyExport(strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	join := func(ls ...[]string) string {
		var b strings.Builder
		for _, l := range ls {
			b.WriteString(strings.Join(l, ""))
		}
		return b.String()
	}
	if v := verify(out.String()); v.Problem != nil || v.Warning != "" || v.Entries != 6 {
		t.Errorf("the export: %+v (problem %v); want 6 entries, no problem nor warning", v, v.Problem)
	}
	if v := verify(join(lines[:5], lines[6:])); v.Problem == nil || v.Problem.Kind != "deleted" || v.Problem.Seq != 6 {
		t.Errorf("the last entry cut, the trailer kept: %+v; want entry 6 deleted", v.Problem)
	}
	old := verify(join(lines[:6]))
	if old.Problem != nil || old.Entries != 6 || !strings.Contains(old.Warning, "entries 1–6 are not followed by a sealed trailer") {
		t.Errorf("an export without a trailer: %+v (problem %v); want intact with a warning", old, old.Problem)
	}
	edited := strings.Replace(lines[6], `"entries":6,"first":1,"last":6`, `"entries":5,"first":1,"last":5`, 1)
	if v := verify(join(lines[:5], []string{edited})); v.Problem == nil || v.Problem.Kind != "trailer" {
		t.Errorf("the last entry cut and the trailer edited to match: %+v; want the trailer named", v.Problem)
	}
	last := strings.Replace(lines[5], `"result":"Healthy"`, `"result":"Failed"`, 1)
	if v := verify(join(lines[:5], []string{last}, lines[6:])); v.Problem == nil || v.Problem.Kind != "edited" || v.Problem.Seq != 6 {
		t.Errorf("the last entry edited: %+v; want entry 6 edited", v.Problem)
	}

	// The retention archive: a batch from before trailers, then batches with one each.
	var archive bytes.Buffer
	if n, err := l.Retain(ctx, Retention{MaxChanges: 2}, &archive); err != nil || n != 2 {
		t.Fatalf("retain: dropped %d, %v; want change 1's 2 entries", n, err)
	}
	older := strings.SplitAfter(archive.String(), "\n") // as an older Flotilla archived it: no trailer
	archive.Reset()
	archive.WriteString(join(older[:2]))
	for _, commit := range []string{"dddd", "eeee"} {
		record(t, l, change("shop", "east", commit, TriggerPoll, "Healthy"))
		if _, err := l.Retain(ctx, Retention{MaxChanges: 2}, &archive); err != nil {
			t.Fatal(err)
		}
	}
	v := verify(archive.String())
	if v.Problem != nil || v.Entries != 6 || !strings.Contains(v.Warning, "entries 1–2 are not covered by a sealed trailer") || strings.Contains(v.Warning, "cut short") {
		t.Errorf("the archive: %+v (problem %v); want entries 1–6 intact, warning of 1–2 only", v, v.Problem)
	}
}
