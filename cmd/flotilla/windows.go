package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/policies"
)

// windowState is one row of `flotilla windows`: what an App's sync windows say on a cluster at
// a moment.
type windowState struct {
	App     string                  `json:"app"`
	Cluster string                  `json:"cluster"`
	At      time.Time               `json:"at"`
	Sync    policies.WindowDecision `json:"sync"`
	// Next is the next window to open (or start), and when.
	Next   string    `json:"next,omitempty"`
	NextAt time.Time `json:"nextAt,omitzero"`
}

func newWindowsCommand(g *globals) *cobra.Command {
	var flags configFlags
	var at string
	cmd := &cobra.Command{
		Use:   "windows",
		Short: "Show which sync windows are open, for each App on each cluster",
		Long: `Judge every App's sync windows (spec.windows) on each cluster it selects, now or at --at: whether
the agent and flotilla sync may sync it on their own (inside a deny window, or outside every
allow window that concerns the cluster, they may not: "held by window W until T"), which
windows are open, and which opens next. Schedules are read in each window's timeZone,
daylight-saving changes included. A held App still has its drift watched and reported;
flotilla sync --override-window syncs it anyway, and the ledger records the override.`,
		Example: `  flotilla windows --config ~/.local/state/flotilla/fleet/flotilla.yaml
  flotilla windows --config fleet/ --app bookinfo --at "2026-12-24 18:00"
  flotilla windows --config fleet/ --at 2026-03-29T01:30:00+01:00 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now, err := parseAt(at)
			if err != nil {
				return err
			}
			cfg, err := flags.load(g)
			if err != nil {
				return err
			}
			var rows []windowState
			for i := range cfg.Apps {
				app := &cfg.Apps[i]
				if flags.app != "" && app.Metadata.Name != flags.app {
					continue
				}
				windows, err := policies.ParseWindows(app.Spec.Windows)
				if err != nil {
					return fmt.Errorf("App/%s: %w", app.Metadata.Name, err)
				}
				selected, err := policies.SelectClusters(app.Spec.ClusterSelector, cfg.Clusters)
				if err != nil {
					return fmt.Errorf("App/%s: %w", app.Metadata.Name, err)
				}
				for _, c := range selected {
					if flags.cluster != "" && c.Metadata.Name != flags.cluster {
						continue
					}
					row := windowState{App: app.Metadata.Name, Cluster: c.Metadata.Name, At: now, Sync: policies.DecideWindows(windows, c, now)}
					row.Next, row.NextAt = policies.NextOpening(windows, c, now)
					rows = append(rows, row)
				}
			}
			return printData(g, rows, func(w io.Writer) { printWindows(w, rows) })
		},
	}
	flags.register(cmd, "flotilla.yaml", "only this App", "only this cluster")
	cmd.Flags().StringVar(&at, "at", "", `judge at this time instead of now: RFC 3339, or "2006-01-02 15:04" in the local time zone`)
	return cmd
}

// parseAt reads --at ("" is now).
func parseAt(at string) (time.Time, error) {
	if at == "" {
		return time.Now(), nil
	}
	if t, err := time.Parse(time.RFC3339, at); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02 15:04", at, time.Local); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--at %q: want RFC 3339 (2026-03-29T01:30:00+01:00) or \"2006-01-02 15:04\" (local time)", at)
}

func printWindows(w io.Writer, rows []windowState) {
	if len(rows) == 0 {
		fmt.Fprintln(w, "no App × Cluster selected")
		return
	}
	t := newTable(w)
	fmt.Fprintln(t, "APP\tCLUSTER\tAUTO-SYNC\tHELD BY\tUNTIL\tOPEN\tNEXT TO OPEN")
	for _, r := range rows {
		sync, by, until := "allowed", "-", "-"
		if !r.Sync.Allowed {
			sync, by, until = "held", r.Sync.Window, "no end"
			if !r.Sync.Until.IsZero() {
				until = r.Sync.Until.Local().Format("2006-01-02 15:04 MST")
			}
		}
		open := strings.Join(r.Sync.Open, ", ")
		if open == "" {
			open = "-"
		}
		next := "-"
		if !r.NextAt.IsZero() {
			next = fmt.Sprintf("%s at %s", r.Next, r.NextAt.Local().Format("2006-01-02 15:04 MST"))
		}
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.App, r.Cluster, sync, by, until, open, next)
	}
	t.Flush()
}
