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
	g := PruneGuard{MaxShare: 0.5}
	if err := g.CheckPrune(10, 6); !errors.As(err, &refusal) || !strings.Contains(err.Error(), "6 of 10") {
		t.Errorf("pruning 60%% with a 50%% cap: %v", err)
	}
	if err := g.CheckPrune(10, 5); err != nil {
		t.Errorf("pruning 50%% with a 50%% cap: %v", err)
	}
	if err := (PruneGuard{}).CheckPrune(10, 10); err != nil {
		t.Errorf("no share cap: %v", err)
	}
}
