package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"sigs.k8s.io/yaml"
)

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
