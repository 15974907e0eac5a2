package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/reconciler"
	"github.com/flotilla-dev/flotilla/sources/gitrepo"
)

// TestCheckOutput: -o is held to the formats a command prints, and a command's own default is
// used when -o is not given.
func TestCheckOutput(t *testing.T) {
	tests := []struct {
		name, annotation string // annotation "-" for none
		args             []string
		wantOutput       string
		wantErr          string
	}{
		{"data command default", "-", nil, "table", ""},
		{"data command json", "-", []string{"-o", "json"}, "json", ""},
		{"data command unknown", "-", []string{"-o", "xml"}, "", `--output "xml" is not one of table, json, yaml: the formats flotilla x prints`},
		{"render default", "yaml,json", nil, "yaml", ""},
		{"render table", "yaml,json", []string{"-o", "table"}, "", `--output "table" is not one of yaml, json: the formats flotilla x prints`},
		{"no data", "", []string{"-o", "json"}, "", `--output "json": flotilla x prints no data, so it takes no -o; leave it out`},
		{"no data default", "", nil, "table", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &globals{}
			root := &cobra.Command{Use: "flotilla"}
			root.PersistentFlags().StringVarP(&g.output, "output", "o", "table", "")
			cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
			if tt.annotation != "-" {
				cmd.Annotations = map[string]string{outputFormats: tt.annotation}
			}
			var err error
			root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
				err = checkOutput(cmd, g)
				return nil
			}
			root.AddCommand(cmd)
			root.SetArgs(append([]string{"x"}, tt.args...))
			if runErr := root.Execute(); runErr != nil {
				t.Fatal(runErr)
			}
			switch {
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			case tt.wantErr == "" && (err != nil || g.output != tt.wantOutput):
				t.Errorf("output = %q, err = %v; want %q", g.output, err, tt.wantOutput)
			}
		})
	}
}

// TestPairErrorsNameAFailedSourceOnce: the summary of a pass gives a Source's fetch error in
// full once, then only names the Source; other errors are kept.
func TestPairErrorsNameAFailedSourceOnce(t *testing.T) {
	fetchErr := &gitrepo.FetchError{Source: "fleet", Field: "spec.url", Err: errors.New("repository not found")}
	wrapped := fmt.Errorf("reconcile: %w", fetchErr)
	other := errors.New("apply failed")
	errs := pairErrors{}
	got := []string{
		errs.text(fetchErr, fetchErr.Error()),
		errs.text(wrapped, wrapped.Error()),
		errs.text(other, other.Error()),
		errs.text(nil, "refused: empty render"),
	}
	want := []string{
		"Source/fleet: spec.url: repository not found",
		"Source/fleet could not be fetched (see above)",
		"apply failed",
		"refused: empty render",
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("text %d = %q, want %q", i, got[i], want[i])
		}
	}
}

// TestProgressNamesAFailedSource: the progress line of a pair whose Source could not be fetched
// names the Source instead of repeating the fetch error; other events pass unchanged.
func TestProgressNamesAFailedSource(t *testing.T) {
	var out bytes.Buffer
	o := fetchFailuresOnce(reconciler.ProgressLines(&out))
	fetchErr := &gitrepo.FetchError{Source: "fleet", Err: errors.New("repository not found")}
	o.Observe(reconciler.Event{Stage: reconciler.StageFetch, Message: fetchErr.Error()})
	for _, c := range []string{"dev-1", "dev-2"} {
		r := reconciler.Result{App: "web", Cluster: c, Status: reconciler.StatusFailed, Err: fetchErr, Error: fetchErr.Error()}
		o.Observe(reconciler.Event{App: "web", Cluster: c, Stage: reconciler.StageDone, Message: "Failed: " + r.Error, Result: &r})
	}
	r := reconciler.Result{App: "db", Cluster: "dev-1", Status: reconciler.StatusFailed, Err: errors.New("boom"), Error: "boom"}
	o.Observe(reconciler.Event{App: "db", Cluster: "dev-1", Stage: reconciler.StageDone, Message: "Failed: boom", Result: &r})
	want := strings.Join([]string{
		"Source/fleet: repository not found",
		"dev-1/web: Failed: Source/fleet could not be fetched (see above)",
		"dev-2/web: Failed: Source/fleet could not be fetched (see above)",
		"dev-1/db: Failed: boom",
	}, "\n") + "\n"
	if out.String() != want {
		t.Errorf("progress:\n%s\nwant:\n%s", out.String(), want)
	}
}
