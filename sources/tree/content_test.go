package tree

import (
	"errors"
	"strings"
	"testing"
)

// aliasBomb is a few hundred bytes whose aliases expand to 9^9 nodes.
func aliasBomb() string {
	bomb := "a: &a [x, x, x, x, x, x, x, x, x]\n"
	for i, prev := 1, "a"; i < 9; i++ {
		name := "b" + string(rune('0'+i))
		bomb += name + ": &" + name + " [" + strings.Repeat("*"+prev+", ", 8) + "*" + prev + "]\n"
		prev = name
	}
	return bomb
}

// TestShapeIsCheckedBeforeAliasesAreDecoded: a file that holds an anchor and an alias (even in
// a comment) is scanned for its shape before the alias check decodes it, so a file nested far
// past the depth limit is refused for its depth without being decoded; the alias check still
// refuses a bomb that is within the shape limits.
func TestShapeIsCheckedBeforeAliasesAreDecoded(t *testing.T) {
	deep := "---\n" + strings.Repeat("[", 9_990) + strings.Repeat("]", 9_990) + "\n"
	tests := []struct {
		name, content, limit string
	}{
		{"deep documents after a comment with an anchor and an alias", "# &a *a\n" + strings.Repeat(deep, 20), limitShapeDepth},
		{"an alias bomb followed by deep documents", "---\n" + aliasBomb() + strings.Repeat(deep, 20), limitShapeDepth},
		{"an alias bomb within the shape limits", aliasBomb(), "nodes produced by YAML aliases"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			view, err := FromFiles(map[string]string{"app/r.yaml": tt.content}, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			_, err = view.ReadFile("/app/r.yaml")
			var limit *LimitError
			if !errors.As(err, &limit) || limit.Limit != tt.limit {
				t.Fatalf("err = %v, want the limit %q", err, tt.limit)
			}
		})
	}
}

// BenchmarkDeepFileWithAliasMarks: refusing 16 MiB of documents nested 9,990 deep that also
// hold "&" and "*" takes a scan of the first document, not a decode of the file.
func BenchmarkDeepFileWithAliasMarks(b *testing.B) {
	deep := "---\n" + strings.Repeat("[", 9_990) + strings.Repeat("]", 9_990) + "\n"
	content := "# &a *a\n" + strings.Repeat(deep, (16<<20-100)/len(deep))
	view, err := FromFiles(map[string]string{"app/r.yaml": content}, DefaultLimits())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := view.Fresh().ReadFile("/app/r.yaml"); err == nil {
			b.Fatal("not refused")
		}
	}
}
