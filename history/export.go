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
// JSON object per line, for an external archive, then a sealed trailer line (see trailer) when
// it wrote any; VerifyExport checks such a file. It returns how many entries it wrote.
func (l *Ledger) Export(ctx context.Context, w io.Writer, since time.Time) (int, error) {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	var seg segment
	started := false
	err := l.store.Scan(ctx, 0, func(e Entry) error {
		// From the first entry at or after since, every entry: the export is one run of the
		// chain (times of entries written at once by two processes may be out of seq order).
		if !started && e.At.Before(since) {
			return nil
		}
		started = true
		seg.add(e)
		return enc.Encode(exportedOf(e))
	})
	if err == nil && seg.Entries > 0 {
		err = enc.Encode(exportLine{Trailer: l.sealTrailer(seg.trailer())})
	}
	n := seg.Entries
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
