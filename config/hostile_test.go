package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLoadBoundsProblems: a file with thousands of mistakes reports the first maxProblems and
// counts the rest, rather than an error message of tens of megabytes.
func TestLoadBoundsProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
	}{
		{"unknown fields", doc("Cluster", "c", "spec: {kubeconfig: k}\n") + func() string {
			var b strings.Builder
			for i := range 20_000 {
				fmt.Fprintf(&b, "k%d: 1\n", i)
			}
			return b.String()
		}()},
		{"empty documents", strings.Repeat("---\n{}\n", 20_000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadBytes("c.yaml", []byte(tt.yaml))
			var cfgErr *Error
			if !errors.As(err, &cfgErr) {
				t.Fatalf("err = %v, want *config.Error", err)
			}
			if len(cfgErr.Problems) != maxProblems || cfgErr.Omitted != 20_000-maxProblems {
				t.Errorf("%d problems, %d omitted; want %d and %d", len(cfgErr.Problems), cfgErr.Omitted, maxProblems, 20_000-maxProblems)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "invalid configuration, 20000 problems:\n") || !strings.HasSuffix(msg, fmt.Sprintf("\n  … and %d more", 20_000-maxProblems)) {
				t.Errorf("error does not count every problem:\n%.200s\n…\n%s", msg, msg[max(0, len(msg)-200):])
			}
			if len(msg) > 64<<10 {
				t.Errorf("error message is %d bytes", len(msg))
			}
		})
	}
}

// TestLoadShortensEchoedValues: a value or key of 100 KB is not repeated in full.
func TestLoadShortensEchoedValues(t *testing.T) {
	huge := strings.Repeat("v", 100_000)
	tests := []struct {
		name, yaml, want string
	}{
		{"label value", doc("Cluster", "c", "  labels: {env: "+huge+"}\nspec: {kubeconfig: k}\n"), `metadata.labels.env: label value "vvvv`},
		{"unknown field", doc("Cluster", "c", "spec:\n  kubeconfig: k\n  ? "+huge+"\n  : 1\n"), "spec.vvvv"},
		{"kind", "apiVersion: flotilla.dev/v1alpha1\nkind: " + huge + "\nmetadata: {name: x}\n", "kind: unknown kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadBytes("c.yaml", []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "…") {
				t.Fatalf("err = %.300v\nwant it to contain %q, shortened", err, tt.want)
			}
			if n := len(err.Error()); n > 4<<10 {
				t.Errorf("error message is %d bytes", n)
			}
		})
	}
}

// TestLoadRefusesComplexKeys: a key that is an alias, a list or a mapping is refused before
// anything decodes it, so that an alias bomb hidden in a key is never expanded.
func TestLoadRefusesComplexKeys(t *testing.T) {
	bomb := "[&a0 [v, v, v, v, v, v, v, v, v, v]"
	for i := 1; i < 9; i++ {
		bomb += fmt.Sprintf(", &a%d [%s]", i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", "))
	}
	bomb += "]"
	tests := []struct {
		name, yaml, want string
	}{
		{"alias bomb as a label key", doc("Cluster", "c", "  labels:\n    ? "+bomb+"\n    : x\nspec: {kubeconfig: k}\n"), "c.yaml:6: Cluster/c: metadata.labels: a key must be plain text, not a list"},
		{"alias bomb in a selector key", doc("Source", "s", goodSource) + "---\n" + doc("App", "a", "spec:\n  source: s\n  path: p\n  clusterSelector:\n    matchLabels: {? "+bomb+" : x}\n"), "App/a: spec.clusterSelector.matchLabels: a key must be plain text, not a list"},
		{"alias as a field name", doc("Cluster", "c", "  labels: {&k env: x}\nspec: {kubeconfig: k, *k : y}\n"), "Cluster/c: spec: a key must be plain text, not an alias"},
		{"mapping as a key", doc("Cluster", "c", "  labels: {? {a: b} : x}\nspec: {kubeconfig: k}\n"), "metadata.labels: a key must be plain text, not a mapping"},
		{"number as a label key", doc("Cluster", "c", "  labels: {1: x}\nspec: {kubeconfig: k}\n"), `metadata.labels.1: expected a text key, got int "1"; quote it`},
		{"merge key", doc("Cluster", "c", "  labels: {<<: {env: x}}\nspec: {kubeconfig: k}\n"), `metadata.labels.<<: expected a text key, got merge "<<"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := LoadBytes("c.yaml", []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %.500v\nwant it to contain %q", err, tt.want)
			}
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("LoadBytes took %s", elapsed)
			}
		})
	}
}

// TestLoadFolderSizeIsBounded: a folder's files count together against MaxFolderSize.
func TestLoadFolderSizeIsBounded(t *testing.T) {
	dir := t.TempDir()
	filler := "# " + strings.Repeat("x", 1<<20) + "\n"
	files := MaxFolderSize/len(filler) + 2
	for i := range files {
		content := filler + doc("Cluster", fmt.Sprintf("c%d", i), "spec: {kubeconfig: k}\n")
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%03d.yaml", i)), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Load(dir)
	want := fmt.Sprintf("%s: the .yaml and .yml files of the folder hold more than the %d MiB limit for a configuration", dir, MaxFolderSize>>20)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Load: err = %v\nwant it to contain %q", err, want)
	}
}
