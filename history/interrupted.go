package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// CloseInterrupted finishes, as Interrupted, every change begun by a process that is gone
// (killed between its begin and end) and returns them. Call it once on start, before making
// changes: a change this process began cannot be open yet, so one with this process's pid is
// from an earlier process that had the same pid. Changes of processes of this host still
// running (a CLI sync beside the agent) are left alone. A change begun on another host is
// from an earlier life of this state folder (an agent's pod restarted under a new name): an
// SQLite ledger is used from one host at a time.
func (l *Ledger) CloseInterrupted(ctx context.Context) ([]Change, error) {
	open, err := l.store.Entries(ctx, EntryFilter{Phase: PhaseBegin, Unfinished: true})
	if err != nil {
		return nil, err
	}
	var closed []Change
	for _, e := range open {
		var b beginBody
		if err := json.Unmarshal(e.Body, &b); err != nil || !processGone(b.Process) {
			continue
		}
		c, err := changeOf(e, Entry{})
		if err != nil {
			return closed, err
		}
		c.Result = ResultInterrupted
		c.Error = fmt.Sprintf("the process making this change (%s) stopped before it finished; what it applied is in the cluster's inventory and the next sync carries on from there", b.Process)
		if err := l.Finish(ctx, &c); err != nil {
			return closed, err
		}
		closed = append(closed, c)
	}
	return closed, nil
}

// processGone says whether "pid@host" names a process that no longer runs: one of another
// host, or of this host that is not running (or has this process's pid, so it is an earlier
// process's).
func processGone(process string) bool {
	pidText, host, ok := strings.Cut(process, "@")
	pid, err := strconv.Atoi(pidText)
	if !ok || err != nil || pid <= 0 {
		return false
	}
	if this, _ := os.Hostname(); host != this {
		return true
	}
	if pid == os.Getpid() {
		return true
	}
	err = syscall.Kill(pid, 0)
	return errors.Is(err, syscall.ESRCH)
}
