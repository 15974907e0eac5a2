package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/sources/gitrepo"
)

func newSourcesCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sources",
		Short: "Inspect the Git sources of a configuration",
	}
	cmd.AddCommand(newSourcesCheckCommand(g))
	return cmd
}

// sourceCheck is one row of `sources check`.
type sourceCheck struct {
	Source string `json:"source"`
	URL    string `json:"url"`
	// Ref is the revision the Source asks for ("branch main"); Revision.Ref says what it
	// resolved to.
	Ref        string                  `json:"ref"`
	Revision   *gitrepo.Revision       `json:"revision,omitempty"`
	Downloaded bool                    `json:"downloaded"`
	Rewrite    *gitrepo.HistoryRewrite `json:"historyRewrite,omitempty"`
	Error      string                  `json:"error,omitempty"`
	// commit is the COMMIT column of a failed check: "not found" for a ref the remote lacks,
	// the refused commit for a signature refusal, "-" otherwise.
	commit string
}

func newSourcesCheckCommand(g *globals) *cobra.Command {
	var flags configFlags
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Resolve every Source's ref and check its signature policy",
		Long: `Fetch every Source of the configuration, resolve its ref (branch, tag, semver range or
commit) and apply its signature policy. Prints commit, author, time and signature status per
Source and reports history rewrites. Exits 1 if any Source fails.`,
		Example: `  flotilla sources check --config ~/.local/state/flotilla/fleet/flotilla.yaml
  flotilla sources check --config fleet/ -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := flags.load(g)
			if err != nil {
				return err
			}
			fetcher, err := flags.fetcher()
			if err != nil {
				return err
			}
			checks := checkSources(cmd.Context(), fetcher, cfg.Sources)
			if err := printData(g, checks, func(w io.Writer) { printSourceChecks(w, checks) }); err != nil {
				return err
			}
			for _, c := range checks {
				if c.Error != "" {
					return exitError{code: 1}
				}
			}
			return nil
		},
	}
	flags.register(cmd, "flotilla.yaml", "", "")
	return cmd
}

func checkSources(ctx context.Context, fetcher *gitrepo.Fetcher, srcs []config.Source) []sourceCheck {
	checks := make([]sourceCheck, len(srcs))
	var wg sync.WaitGroup
	for i := range srcs {
		src := &srcs[i]
		wg.Go(func() {
			c := sourceCheck{Source: src.Metadata.Name, URL: config.RedactURL(src.Spec.URL), Ref: gitrepo.DescribeRef(src.Spec.Ref)}
			fetched, err := fetcher.Fetch(ctx, src)
			if err != nil {
				c.Error, c.commit = redactURLIn(err.Error(), src.Spec.URL), failedCommit(err)
			} else {
				c.Revision, c.Downloaded, c.Rewrite = &fetched.Revision, fetched.Downloaded, fetched.Rewrite
			}
			checks[i] = c
		})
	}
	wg.Wait()
	return checks
}

// failedCommit is the COMMIT column of a Source that could not be fetched: "not found" when
// its branch or tag is not on the remote, the commit a signature policy refused, else "-".
func failedCommit(err error) string {
	var notFound *gitrepo.RefNotFoundError
	var refused *gitrepo.SignatureError
	switch {
	case errors.As(err, &notFound):
		return "not found"
	case errors.As(err, &refused) && len(refused.Commit) >= 12:
		return refused.Commit[:12]
	}
	return "-"
}

// redactURLIn replaces a Source URL in a message by its redacted form (config.RedactURL):
// fetch errors quote the URL, and a user name there may be an access token.
func redactURLIn(msg, rawURL string) string {
	if redacted := config.RedactURL(rawURL); redacted != rawURL {
		return strings.ReplaceAll(msg, rawURL, redacted)
	}
	return msg
}

func printSourceChecks(w io.Writer, checks []sourceCheck) {
	t := newTable(w)
	fmt.Fprintln(t, "SOURCE\tREF\tCOMMIT\tAUTHOR\tTIME\tSIGNATURE")
	var notes []string
	for _, c := range checks {
		if c.Error != "" {
			fmt.Fprintf(t, "%s\t%s\t%s\t-\t-\tFAILED\n", c.Source, c.Ref, c.commit)
			notes = append(notes, "error: "+c.Error)
			continue
		}
		r := c.Revision
		sig := r.Signature.Status
		if r.Signature.Signer != "" {
			sig += " (" + r.Signature.Signer + ")"
		}
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Source, r.Ref, r.ShortCommit(), r.Author, r.Committer.When.Format("2006-01-02 15:04 MST"), sig)
		if c.Rewrite != nil {
			notes = append(notes, fmt.Sprintf("warning: Source/%s: history rewritten: %s is no longer an ancestor of %s (force-push or moved tag)",
				c.Source, c.Rewrite.Previous[:12], c.Rewrite.Current[:12]))
		}
	}
	t.Flush()
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
}
