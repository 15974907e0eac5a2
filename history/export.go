package history

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// exported is an entry as a line of an export: every column, the body as JSON.
type exported struct {
	Seq      int64           `json:"seq"`
	Change   int64           `json:"change"`
	Phase    Phase           `json:"phase"`
	At       time.Time       `json:"at"`
	App      string          `json:"app"`
	Cluster  string          `json:"cluster"`
	Trigger  Trigger         `json:"trigger"`
	Revision string          `json:"revision"`
	Author   string          `json:"author"`
	Result   Result          `json:"result"`
	Body     json.RawMessage `json:"body"`
	PrevSeal string          `json:"prevSeal"`
	Seal     string          `json:"seal"`
}

// Export writes the entries from since on (every entry when since is zero), oldest first, one
// JSON object per line, for an external archive; VerifyExport checks such a file. It returns
// how many it wrote.
func (l *Ledger) Export(ctx context.Context, w io.Writer, since time.Time) (int, error) {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	n := 0
	started := false
	err := l.store.Scan(ctx, 0, func(e Entry) error {
		// From the first entry at or after since, every entry: the export is one run of the
		// chain (times of entries written at once by two processes may be out of seq order).
		if !started && e.At.Before(since) {
			return nil
		}
		started = true
		n++
		return enc.Encode(exportedOf(e))
	})
	if err != nil {
		return n, fmt.Errorf("export the ledger: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("export the ledger: %w", err)
	}
	return n, nil
}

func exportedOf(e Entry) exported {
	return exported{Seq: e.Seq, Change: e.Change, Phase: e.Phase, At: e.At, App: e.App, Cluster: e.Cluster,
		Trigger: e.Trigger, Revision: e.Revision, Author: e.Author, Result: e.Result, Body: e.Body,
		PrevSeal: e.PrevSeal, Seal: e.Seal}
}

func (x exported) entry() Entry {
	return Entry{Seq: x.Seq, Change: x.Change, Phase: x.Phase, At: x.At, App: x.App, Cluster: x.Cluster,
		Trigger: x.Trigger, Revision: x.Revision, Author: x.Author, Result: x.Result, Body: x.Body,
		PrevSeal: x.PrevSeal, Seal: x.Seal}
}

// VerifyExport checks an export (see Export) with this ledger's key: every line's seal, and
// that each line follows the one before. The first line's link to what came before it is taken
// as given (an export from a date starts in the middle of the chain).
func (l *Ledger) VerifyExport(r io.Reader) (*Verification, error) {
	dec := json.NewDecoder(r)
	var c *entryChecker
	for line := 1; ; line++ {
		var x exported
		err := dec.Decode(&x)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("export line %d: %w", line, err)
		}
		e := x.entry()
		if c == nil {
			c = newChecker(l.keys, Mark{Seq: e.Seq - 1, Seal: e.PrevSeal})
		}
		if p := c.check(e); p != nil {
			c.result.Problem = p
			return &c.result, nil
		}
	}
	if c == nil {
		return &Verification{}, nil
	}
	if c.pending != nil {
		c.result.Problem = c.pendingProblem(false)
	}
	return &c.result, nil
}
