package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/history"
	"github.com/flotilla-dev/flotilla/server"
)

// historyFlags are the filters of `flotilla history`, named as the API's query parameters.
type historyFlags struct {
	app, cluster, since, until, author, revision, trigger string
	limit                                                 int
}

func newHistoryCommand(g *globals) *cobra.Command {
	var f clientFlags
	var h historyFlags
	triggers := make([]string, len(history.Triggers))
	for i, t := range history.Triggers {
		triggers[i] = string(t)
	}
	cmd := &cobra.Command{
		Use:   "history",
		Short: "List the changes Flotilla made to each App on each cluster, newest first",
		Long: `List the change ledger: one row per change to an App on a cluster (a sync, a drift heal, a
rollback, a refused or failed attempt), newest first, with when it started, what triggered it,
the commit it applied and its author (for manual changes and rollbacks, who asked: an OS user
or an API token), how it ended and how many objects it created, configured or pruned.
'flotilla history show ID' prints one change whole, with its diffs.

It asks the running agent (the local one, found through its state folder, or --server); when
none runs, it reads the ledger in the state folder itself.

--since and --until take an RFC 3339 time (2026-03-01T12:00:00Z) or a duration before now
(90m, 24h, 7d). --author matches the commit's author or committer, or who asked, by part of
the name or address; --revision a commit by its first digits. -o json or yaml prints the
changes whole.`,
		Example: `  flotilla history
  flotilla history --app bookinfo --cluster prod --since 24h
  flotilla history --trigger drift -o json
  flotilla history --author alice@example.com --limit 20
  flotilla history --server https://agent.example:7070 --token-file viewer.token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			query := h.query()
			filter, err := server.HistoryFilter(query, time.Now())
			if err != nil {
				return flagError(err)
			}
			reader, err := f.ledgerReader(cmd.Context())
			if errors.Is(err, errNoLedger) {
				return printNoChanges(g, err.Error())
			}
			if err != nil {
				return err
			}
			defer reader.close()
			changes, err := reader.list(cmd.Context(), query, filter)
			if err != nil {
				return err
			}
			if len(changes) == 0 {
				what := "none of the changes recorded " + reader.where() + " match"
				if h == (historyFlags{limit: h.limit}) {
					what = "no changes recorded yet " + reader.where()
				}
				return printNoChanges(g, what)
			}
			return printData(g, changes, func(w io.Writer) { printHistory(w, changes) })
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&h.app, "app", "", "only changes to this App")
	cmd.Flags().StringVar(&h.cluster, "cluster", "", "only changes on this cluster")
	cmd.Flags().StringVar(&h.since, "since", "", "only changes started at or after this time, or this long ago (24h, 7d)")
	cmd.Flags().StringVar(&h.until, "until", "", "only changes started before this time, or this long ago")
	cmd.Flags().StringVar(&h.author, "author", "", "only changes whose commit author or committer, or who asked, holds this text")
	cmd.Flags().StringVar(&h.revision, "revision", "", "only changes that applied a commit starting with these digits")
	cmd.Flags().StringVar(&h.trigger, "trigger", "", "only changes of this trigger: "+strings.Join(triggers, ", "))
	cmd.Flags().IntVar(&h.limit, "limit", 100, fmt.Sprintf("how many of the newest changes to show, up to %d (flotilla audit export writes every one)", server.MaxHistoryLimit))
	cmd.AddCommand(newHistoryShowCommand(g))
	return cmd
}

// query is the flags as the API's query.
func (h historyFlags) query() url.Values {
	q := url.Values{}
	for name, v := range map[string]string{"app": h.app, "cluster": h.cluster, "since": h.since, "until": h.until,
		"author": h.author, "revision": h.revision, "trigger": h.trigger} {
		if v != "" {
			q.Set(name, v)
		}
	}
	q.Set("limit", strconv.Itoa(h.limit))
	return q
}

// flagError turns the API's word for a query parameter it cannot use into the flag's.
func flagError(err error) error {
	var q *server.QueryError
	if errors.As(err, &q) {
		return fmt.Errorf("--%s: %s", q.Param, q.Problem)
	}
	return err
}

// printNoChanges says there is nothing to list: on stderr for a table, as an empty list for
// JSON and YAML.
func printNoChanges(g *globals, what string) error {
	if g.output == "table" {
		fmt.Fprintln(g.stderr, what)
		return nil
	}
	return printData(g, []history.Change{}, nil)
}

// printHistory prints changes as a table, one row each.
func printHistory(w io.Writer, changes []history.Change) {
	t := newTable(w)
	fmt.Fprintln(t, "ID\tSTARTED\tAPP\tCLUSTER\tTRIGGER\tREVISION\tAUTHOR\tRESULT\tWRITES")
	for _, c := range changes {
		fmt.Fprintf(t, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", c.ID, c.Started.Local().Format("2006-01-02 15:04"), c.App, c.Cluster, c.Trigger,
			revisionSummary(c.Revision), changeAuthor(c), c.Result, c.Writes())
	}
	t.Flush()
}

// revisionSummary is a commit's first 8 digits and its subject, cut short.
func revisionSummary(r history.Revision) string {
	if r.Commit == "" {
		return "-"
	}
	commit := r.Commit
	if len(commit) > 8 {
		commit = commit[:8]
	}
	subject := firstLine(r.Subject)
	if runes := []rune(subject); len(runes) > 40 {
		subject = strings.TrimRight(string(runes[:39]), " ") + "…"
	}
	return strings.TrimSpace(commit + " " + subject)
}

// changeAuthor is who a change comes from: whoever asked for a manual change, a rollback or an
// unpin (an OS user, an API token, the agent); the commit's author, by name, for the others.
func changeAuthor(c history.Change) string {
	switch c.Trigger {
	case history.TriggerManual, history.TriggerRollback, history.TriggerAutoRollback, history.TriggerUnpin, history.TriggerRollout:
		if who := c.Actor.String(); who != "" {
			return who
		}
	}
	if name, _, _ := strings.Cut(c.Revision.Author, " <"); strings.TrimSpace(name) != "" {
		return strings.TrimSpace(name)
	}
	if who := c.Actor.String(); who != "" {
		return who
	}
	return "-"
}

// ledgerReader reads the change ledger through an agent's API, or from a state folder's
// ledger file.
type ledgerReader struct {
	client *agentClient
	ledger *history.Ledger
	dir    string
}

// ledgerReader finds where to read the ledger: the agent at --server; else the local agent,
// when one answers; else the ledger file of the state folder (errNoLedger when there is none).
func (f *clientFlags) ledgerReader(ctx context.Context) (*ledgerReader, error) {
	if f.server != "" {
		client, err := f.client()
		if err != nil {
			return nil, err
		}
		return &ledgerReader{client: client}, nil
	}
	if client := localAgent(ctx, f.state); client != nil {
		return &ledgerReader{client: client}, nil
	}
	dir, err := agentStateDir(f.state)
	if err != nil {
		return nil, err
	}
	ledger, err := openLedgerToRead(ctx, dir)
	if err != nil {
		return nil, err
	}
	return &ledgerReader{ledger: ledger, dir: dir}, nil
}

// where says where the reader reads, for messages.
func (r *ledgerReader) where() string {
	if r.client != nil {
		return "by the agent at " + r.client.url
	}
	return "in " + r.dir
}

// list returns the changes of query (filter, read from it).
func (r *ledgerReader) list(ctx context.Context, query url.Values, filter history.Filter) ([]history.Change, error) {
	if r.client == nil {
		return r.ledger.List(ctx, filter)
	}
	var changes []history.Change
	err := r.client.do(ctx, http.MethodGet, "/api/v1/history", query, &changes)
	return changes, err
}

// get returns one change.
func (r *ledgerReader) get(ctx context.Context, id int64) (*history.Change, error) {
	if r.client == nil {
		c, err := r.ledger.Get(ctx, id)
		if errors.Is(err, history.ErrNotFound) {
			return nil, fmt.Errorf("change %d is not in the ledger %s", id, r.where())
		}
		return c, err
	}
	var c history.Change
	if err := r.client.do(ctx, http.MethodGet, "/api/v1/history/"+strconv.FormatInt(id, 10), nil, &c); err != nil {
		return nil, fmt.Errorf("change %d: %w", id, err)
	}
	return &c, nil
}

func (r *ledgerReader) close() {
	if r.ledger != nil {
		r.ledger.Close()
	}
}
