package history

import (
	"fmt"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/flotilla-dev/flotilla/internal/object"
)

// Diff is a unified diff of an object from before to after (either nil: created or pruned), as
// YAML, with each Secret value replaced by a token of the ledger's mask key: equal values show
// equal tokens, so a changed value shows as changed, and nothing of the value is stored.
func (l *Ledger) Diff(before, after *unstructured.Unstructured) string {
	name := ""
	for _, obj := range []*unstructured.Unstructured{after, before} {
		if obj != nil {
			name = object.IDOf(obj).String()
		}
	}
	text, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: l.lines(before), B: l.lines(after), FromFile: "before/" + name, ToFile: "after/" + name, Context: 3,
	})
	return text
}

func (l *Ledger) lines(obj *unstructured.Unstructured) []string {
	if obj == nil {
		return nil
	}
	masked := object.ReplaceSecretValues(obj, func(v any) string {
		return object.Redacted + " " + l.keys.maskToken(v)
	})
	b, err := yaml.Marshal(masked.Object)
	if err != nil {
		return []string{fmt.Sprintf("# cannot show: %v\n", err)}
	}
	return difflib.SplitLines(strings.TrimRight(string(b), "\n"))
}
