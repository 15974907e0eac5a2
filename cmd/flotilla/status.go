package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/server"
)

// agentClient talks to a running agent's API.
type agentClient struct {
	url, token string
	http       *http.Client
}

// clientFlags say which agent to ask: the local one (its state folder) or --server.
type clientFlags struct {
	state, server, tokenFile string
}

func (f *clientFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.state, "state", "", "the local agent's state folder (default: flotilla/agent under the user's state directory)")
	cmd.Flags().StringVar(&f.server, "server", "", "the agent's URL, instead of the local one (with --token-file)")
	cmd.Flags().StringVar(&f.tokenFile, "token-file", "", "a file holding the API token to use with --server")
}

// errNoAgent: no agent runs where the flags say.
var errNoAgent = errors.New("no agent is running")

// client finds the agent: --server with --token-file, or the local agent through the
// agent.json and token files of its state folder.
func (f *clientFlags) client() (*agentClient, error) {
	// A transport of its own: Go's default one is disabled in this binary (nodefaulthttp), and
	// no proxy is used for the agent.
	c := &agentClient{http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}}
	if f.server != "" {
		if f.tokenFile == "" {
			return nil, errors.New("--server needs --token-file: the file holding an API token")
		}
		b, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--token-file: %w", err)
		}
		c.url, c.token = strings.TrimRight(f.server, "/"), strings.TrimSpace(string(b))
		return c, nil
	}
	dir, err := agentStateDir(f.state)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, endpointFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w with state folder %s: start one with flotilla agent --config F, or give --server", errNoAgent, dir)
	}
	if err != nil {
		return nil, err
	}
	var endpoint agentEndpoint
	if err := json.Unmarshal(b, &endpoint); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, endpointFile), err)
	}
	token, err := os.ReadFile(filepath.Join(dir, "token"))
	if err != nil {
		return nil, fmt.Errorf("the local agent's token: %w", err)
	}
	c.url, c.token = endpoint.URL, strings.TrimSpace(string(token))
	return c, nil
}

// agent is the client of the agent to ask: none with --direct; the agent at --server; else
// the local one, when it answers.
func (f *clientFlags) agent(ctx context.Context, direct bool) (*agentClient, error) {
	switch {
	case direct && f.server != "":
		return nil, errors.New("--direct works from this process, --server asks an agent: give one of them")
	case direct:
		return nil, nil
	case f.server != "":
		return f.client()
	}
	return localAgent(ctx, f.state), nil
}

// patient is c without its timeout, for a request that lasts as long as the agent's work (a
// rollback waits for health): only the request's context bounds it.
func (c *agentClient) patient() *agentClient {
	p := *c
	p.http = &http.Client{Transport: c.http.Transport}
	return &p
}

// do sends a request and decodes a JSON answer into out (when not nil).
func (c *agentClient) do(ctx context.Context, method, path string, query url.Values, out any) error {
	u := c.url + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("ask the agent at %s: %w", c.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		return fmt.Errorf("the agent at %s answered %s: %s", c.url, resp.Status, e.Error)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(body, out)
}

func newStatusCommand(g *globals) *cobra.Command {
	var f clientFlags
	var app string
	var wide bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show what the running agent knows of each App on each cluster",
		Long: `Ask the running agent (the local one, found through its state folder, or --server) for the
state of every App on every cluster it selects: Synced, OutOfSync, Drifted, Fighting, Failed,
Held, Waiting, Refused or Unknown, its health where the agent knows it, and the commit
applied.

The table is the fleet at a glance: a row per App, a column per cluster. Lines after it say
which App is pinned on a rolled-back commit (and until when) and what failed. --wide prints a
row per App × Cluster instead: the commit Git wants and the one applied, the pinned commit
(PINNED), health, when it last synced, how many objects it wrote, how many drifted, and the
error. -o json or yaml prints the API's answer, pins included ("pinned").`,
		Example: `  flotilla status
  flotilla status --wide
  flotilla status --app bookinfo -o json
  flotilla status --server https://agent.example:7070 --token-file viewer.token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := f.client()
			if err != nil {
				return err
			}
			var apps []server.AppStatus
			if app != "" {
				var one server.AppStatus
				err = client.do(cmd.Context(), http.MethodGet, "/api/v1/apps/"+url.PathEscape(app), nil, &one)
				apps = []server.AppStatus{one}
			} else {
				var all struct {
					Apps        []server.AppStatus `json:"apps"`
					ConfigError string             `json:"configError"`
				}
				err = client.do(cmd.Context(), http.MethodGet, "/api/v1/apps", nil, &all)
				apps = all.Apps
				if all.ConfigError != "" {
					fmt.Fprintf(g.stderr, "warning: the agent refused its new configuration and runs the one it had:\n  %s\n", strings.ReplaceAll(all.ConfigError, "\n", "\n  "))
				}
			}
			if err != nil {
				return err
			}
			if wide {
				return printData(g, apps, func(w io.Writer) { printStatus(w, apps) })
			}
			return printData(g, apps, func(w io.Writer) { printFleetGrid(w, apps) })
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&app, "app", "", "only this App")
	cmd.Flags().BoolVar(&wide, "wide", false, "a row per App × Cluster with every detail, instead of the apps × clusters table")
	return cmd
}

// printStatus prints one row per App × Cluster; a pinned one has its pinned commit in PINNED,
// and a line after the table says until when.
func printStatus(w io.Writer, apps []server.AppStatus) {
	t := newTable(w)
	fmt.Fprintln(t, "APP\tCLUSTER\tSTATE\tHEALTH\tWANTED\tAPPLIED\tPINNED\tLAST SYNC\tWRITES\tDRIFTED\tERROR")
	var pins []string
	for _, app := range apps {
		for _, c := range app.Clusters {
			last := "-"
			if !c.LastSync.IsZero() {
				last = time.Since(c.LastSync).Round(time.Second).String() + " ago"
			}
			pinned := "-"
			if p := c.Pinned; p != nil {
				pinned = short(p.Revision)
				pins = append(pins, pinLine(app.Name, c))
			}
			fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", app.Name, c.Cluster, c.State, orDash(c.Health), short(c.WantedRevision), short(c.AppliedRevision),
				pinned, last, c.Writes, len(c.Drifted), firstLine(c.LastError))
		}
	}
	t.Flush()
	if len(pins) > 0 {
		fmt.Fprintln(w)
		for _, p := range pins {
			fmt.Fprintln(w, p)
		}
	}
}

// pinLine says that the App is pinned on the cluster, how, and until when.
func pinLine(app string, c server.ClusterStatus) string {
	p := c.Pinned
	by := "rolled back"
	if p.Auto {
		by = "rolled back by the agent (" + short(p.Until) + " failed health)"
	}
	return fmt.Sprintf("App/%s on cluster %s is pinned on %s, %s by change %d, until a commit other than %s arrives (flotilla unpin --app %s --cluster %s to follow Git now)",
		app, c.Cluster, short(p.Revision), by, p.Change, short(p.Until), app, c.Cluster)
}

// printFleetGrid prints the fleet as an apps × clusters table: each cell is the App's state on
// the cluster, its health when known and the commit applied ("-" where the App does not
// select the cluster). Lines after it name pins and errors.
func printFleetGrid(w io.Writer, apps []server.AppStatus) {
	var clusterNames []string
	seen := map[string]bool{}
	for _, app := range apps {
		for _, c := range app.Clusters {
			if !seen[c.Cluster] {
				seen[c.Cluster] = true
				clusterNames = append(clusterNames, c.Cluster)
			}
		}
	}
	t := newTable(w)
	fmt.Fprintln(t, "APP\t"+strings.ToUpper(strings.Join(clusterNames, "\t")))
	var notes []string
	for _, app := range apps {
		cells := map[string]string{}
		for _, c := range app.Clusters {
			cell := c.State
			if c.Health != "" && c.Health != server.StateUnknown {
				cell += " " + c.Health
			}
			cell += " " + short(c.AppliedRevision)
			if c.Pinned != nil {
				cell += " (pinned)"
				notes = append(notes, pinLine(app.Name, c))
			}
			if c.LastError != "" {
				notes = append(notes, fmt.Sprintf("App/%s on cluster %s: %s", app.Name, c.Cluster, firstLine(c.LastError)))
			}
			cells[c.Cluster] = cell
		}
		row := []string{app.Name}
		for _, name := range clusterNames {
			row = append(row, orDash(cells[name]))
		}
		fmt.Fprintln(t, strings.Join(row, "\t"))
	}
	t.Flush()
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintln(w, n)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	if commit == "" {
		return "-"
	}
	return commit
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
