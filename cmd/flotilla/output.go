package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/flotilla-dev/flotilla/sources/gitrepo"
)

// outputFormats is the annotation of a command that prints something else than printData's
// table, json or yaml: the -o formats it accepts, comma-separated, its default first ("yaml,json"
// for render). An empty value says the command prints no data and takes no -o.
const outputFormats = "flotilla.dev/output-formats"

// dataFormats are the formats of printData, which a command without the annotation uses.
var dataFormats = []string{"table", "json", "yaml"}

// acceptedFormats lists the -o formats cmd accepts, its default first.
func acceptedFormats(cmd *cobra.Command) []string {
	value, ok := cmd.Annotations[outputFormats]
	if !ok {
		return dataFormats
	}
	if value == "" {
		return nil
	}
	return strings.Split(value, ",")
}

// checkOutput validates -o for cmd before it starts any work: a format the command does not
// print is refused, naming those it does; without -o, the command's own default is used.
func checkOutput(cmd *cobra.Command, g *globals) error {
	formats := acceptedFormats(cmd)
	if !cmd.Flags().Changed("output") {
		if len(formats) > 0 {
			g.output = formats[0]
		}
		return nil
	}
	if slices.Contains(formats, g.output) {
		return nil
	}
	if len(formats) == 0 {
		return fmt.Errorf("--output %q: %s prints no data, so it takes no -o; leave it out", g.output, cmd.CommandPath())
	}
	return fmt.Errorf("--output %q is not one of %s: the formats %s prints", g.output, strings.Join(formats, ", "), cmd.CommandPath())
}

// printData writes data as JSON or YAML when -o asks for it, and otherwise calls table.
func printData(g *globals, data any, table func(w io.Writer)) error {
	switch g.output {
	case "json":
		b, err := json.MarshalIndent(data, "", "  ")
		if err != nil {
			return fmt.Errorf("encode output: %w", err)
		}
		_, err = fmt.Fprintf(g.stdout, "%s\n", b)
		return err
	case "yaml":
		b, err := yaml.Marshal(data)
		if err != nil {
			return fmt.Errorf("encode output: %w", err)
		}
		_, err = g.stdout.Write(b)
		return err
	default:
		table(g.stdout)
		return nil
	}
}

// newTable returns a tab-aligned writer; call Flush when done.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
}

// unfetchedSource is the name of the Source err says could not be fetched, if it says so.
func unfetchedSource(err error) (string, bool) {
	var fetch *gitrepo.FetchError
	if errors.As(err, &fetch) {
		return fetch.Source, true
	}
	return "", false
}

// pairErrors gives the error text of each App × Cluster of a sync or diff summary: a Source that
// could not be fetched, which fails every pair of its Apps with one error, is given in full the
// first time and only named after that. Use one per summary:
//
//	errs := pairErrors{}
//	… errs.text(r.Err, r.Error) …
type pairErrors map[string]bool

func (seen pairErrors) text(err error, msg string) string {
	name, ok := unfetchedSource(err)
	if !ok {
		return msg
	}
	if seen[name] {
		return fmt.Sprintf("Source/%s could not be fetched (see above)", name)
	}
	seen[name] = true
	return msg
}
