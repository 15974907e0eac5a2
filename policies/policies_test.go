package policies

import (
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flotilla-dev/flotilla/config"
)

func TestSelectClusters(t *testing.T) {
	clusters := []config.Cluster{
		{Metadata: config.ObjectMeta{Name: "dev", Labels: map[string]string{"env": "dev", "region": "eu"}}},
		{Metadata: config.ObjectMeta{Name: "prod-eu", Labels: map[string]string{"env": "prod", "region": "eu"}}},
		{Metadata: config.ObjectMeta{Name: "prod-us", Labels: map[string]string{"env": "prod", "region": "us", "canary": "true"}}},
	}
	tests := []struct {
		name     string
		selector metav1.LabelSelector
		want     string
	}{
		{"empty selects all", metav1.LabelSelector{}, "dev,prod-eu,prod-us"},
		{"match labels", metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}, "prod-eu,prod-us"},
		{"in", metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "region", Operator: metav1.LabelSelectorOpIn, Values: []string{"us"}}}}, "prod-us"},
		{"not in", metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"prod"}}}}, "dev"},
		{"exists", metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "canary", Operator: metav1.LabelSelectorOpExists}}}, "prod-us"},
		{"does not exist", metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "canary", Operator: metav1.LabelSelectorOpDoesNotExist}}}, "dev,prod-eu"},
		{"nothing", metav1.LabelSelector{MatchLabels: map[string]string{"env": "qa"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SelectClusters(tt.selector, clusters)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, c := range got {
				names = append(names, c.Metadata.Name)
			}
			if strings.Join(names, ",") != tt.want {
				t.Errorf("selected %v, want %s", names, tt.want)
			}
		})
	}
}

func TestPruneGuard(t *testing.T) {
	var refusal *RefusalError
	if err := (PruneGuard{}).CheckRender(0); !errors.As(err, &refusal) || !strings.Contains(err.Error(), "holds no objects") {
		t.Errorf("empty render: %v", err)
	}
	if err := (PruneGuard{AllowEmpty: true}).CheckRender(0); err != nil {
		t.Errorf("allowed empty render: %v", err)
	}
	if err := (PruneGuard{}).CheckRender(3); err != nil {
		t.Errorf("non-empty render: %v", err)
	}
	tests := []struct {
		name                      string
		guard                     PruneGuard
		managed, toPrune, desired int
		refusal                   string // "" when allowed
	}{
		{"60% with a 50% cap", PruneGuard{MaxShare: 0.5}, 10, 6, 4, "6 of 10 managed objects (60%) is more than the allowed 50%"},
		{"50% with a 50% cap", PruneGuard{MaxShare: 0.5}, 10, 5, 5, ""},
		{"all but one by default", PruneGuard{}, 10, 9, 3, ""},
		{"all by default", PruneGuard{}, 10, 10, 3, "pruning all 10 managed objects: none of them is in the render (3 objects)"},
		{"all with a 100% cap", PruneGuard{MaxShare: 1}, 10, 10, 3, ""},
		{"all with a 50% cap", PruneGuard{MaxShare: 0.5}, 4, 4, 1, "4 of 4"},
		{"all for an allowed empty render", PruneGuard{AllowEmpty: true}, 10, 10, 0, ""},
		{"all for an allowed empty render with a 50% cap", PruneGuard{AllowEmpty: true, MaxShare: 0.5}, 4, 4, 0, "4 of 4"},
		{"nothing managed yet", PruneGuard{}, 0, 0, 5, ""},
		{"nothing to prune", PruneGuard{MaxShare: 0.1}, 10, 0, 10, ""},
	}
	for _, tt := range tests {
		err := tt.guard.CheckPrune(tt.managed, tt.toPrune, tt.desired)
		switch {
		case tt.refusal == "" && err != nil:
			t.Errorf("%s: refused: %v", tt.name, err)
		case tt.refusal != "" && (!errors.As(err, &refusal) || !strings.Contains(err.Error(), tt.refusal) || !strings.Contains(err.Error(), "nothing was applied or pruned")):
			t.Errorf("%s: got %v, want a refusal saying %q and that nothing was applied", tt.name, err, tt.refusal)
		}
	}
}
