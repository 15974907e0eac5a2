package history

import (
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// trailer ends a run of lines of an export (or of the retention archive, one per batch it
// appends): how many entries the lines since the previous trailer hold, the first and last seq
// and the last entry's seal, sealed with the ledger key. Entries cut from the end of the file
// take its trailer with them, and a trailer cannot be rewritten to match without the key.
type trailer struct {
	Entries  int    `json:"entries"`
	First    int64  `json:"first"`
	Last     int64  `json:"last"`
	LastSeal string `json:"lastSeal"`
	Seal     string `json:"seal"`
}

// exportLine is one line of an export: an entry, or a trailer.
type exportLine struct {
	exported
	Trailer *trailer `json:"trailer,omitempty"`
}

// MarshalJSON writes a trailer line as {"trailer": …} alone.
func (x exportLine) MarshalJSON() ([]byte, error) {
	if x.Trailer != nil {
		return json.Marshal(struct {
			Trailer *trailer `json:"trailer"`
		}{x.Trailer})
	}
	return json.Marshal(x.exported)
}

// segment counts the entries written since the last trailer.
type segment trailer

func (s *segment) add(e Entry) {
	if s.Entries == 0 {
		s.First = e.Seq
	}
	s.Entries++
	s.Last, s.LastSeal = e.Seq, e.Seal
}

func (s *segment) trailer() trailer { return trailer(*s) }

func (l *Ledger) sealTrailer(t trailer) *trailer {
	t.Seal = l.trailerSeal(t)
	return &t
}

func (l *Ledger) trailerSeal(t trailer) string {
	return l.keys.sign("export trailer", strconv.Itoa(t.Entries), strconv.FormatInt(t.First, 10), strconv.FormatInt(t.Last, 10), t.LastSeal)
}

// VerifyExport checks an export (see Export), or the retention archive, with this ledger's key:
// every line's seal, that each line follows the one before, and that each trailer is sealed and
// matches the lines since the one before it. The first line's link to what came before it is
// taken as given (an export from a date starts in the middle of the chain). Lines after the
// last trailer, or a file without one (an export made before exports had trailers), are
// checked as lines, with a Warning: entries cut from its end would not show.
func (l *Ledger) VerifyExport(r io.Reader) (*Verification, error) {
	dec := json.NewDecoder(r)
	var c *entryChecker
	var seg segment
	for line := 1; ; line++ {
		var x exportLine
		err := dec.Decode(&x)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("export line %d: %w", line, err)
		}
		if x.Trailer != nil {
			if c == nil {
				c = newChecker(l.keys, Mark{})
			}
			if p := c.checkTrailer(l, *x.Trailer, seg, line); p != nil {
				c.result.Problem = p
				return &c.result, nil
			}
			seg = segment{}
			continue
		}
		e := x.entry()
		if c == nil {
			c = newChecker(l.keys, Mark{Seq: e.Seq - 1, Seal: e.PrevSeal})
		}
		if p := c.check(e); p != nil {
			c.result.Problem = p
			return &c.result, nil
		}
		seg.add(e)
	}
	if c == nil {
		return &Verification{}, nil
	}
	if c.pending != nil {
		c.result.Problem = c.pendingProblem(false)
		return &c.result, nil
	}
	if seg.Entries > 0 {
		c.warn(fmt.Sprintf("entries %d–%d are not followed by a sealed trailer (an export made before exports had one, or a file cut short): entries missing from its end would not show", seg.First, seg.Last))
	}
	return &c.result, nil
}

func (c *entryChecker) warn(text string) {
	if c.result.Warning != "" {
		c.result.Warning += "; "
	}
	c.result.Warning += text
}

// checkTrailer checks a trailer against the entries since the one before (seg), whose seqs
// the chain checks made consecutive. A trailer may seal the last part of them only: a file
// appended to by a Flotilla that wrote trailers, after one that did not (the retention
// archive), whose first lines are then unsealed (a Warning).
func (c *entryChecker) checkTrailer(l *Ledger, t trailer, seg segment, line int) *Problem {
	sealed := hmac.Equal([]byte(l.trailerSeal(t)), []byte(t.Seal))
	if c.pending != nil {
		return c.pendingProblem(sealed && t.LastSeal == c.pending.Seal)
	}
	switch {
	case !sealed:
		return &Problem{Seq: seg.Last, Kind: "trailer", Message: fmt.Sprintf("the trailer on line %d was edited (or not written with this ledger's key)", line)}
	case seg.Entries == 0 || t.Last != seg.Last || t.LastSeal != seg.LastSeal || t.First < seg.First || int64(t.Entries) != t.Last-t.First+1:
		return &Problem{Seq: seg.Last + 1, Kind: "deleted", Message: fmt.Sprintf("the trailer on line %d seals entries %d–%d, the lines before it end at entry %d: entries were deleted from the file", line, t.First, t.Last, seg.Last)}
	case t.First > seg.First:
		c.warn(fmt.Sprintf("entries %d–%d are not covered by a sealed trailer (written before exports had one)", seg.First, t.First-1))
	}
	return nil
}
