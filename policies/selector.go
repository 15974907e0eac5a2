package policies

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/flotilla-dev/flotilla/config"
)

// SelectClusters returns the clusters whose labels match the selector, in configuration order.
// An empty selector selects every cluster.
func SelectClusters(selector metav1.LabelSelector, clusters []config.Cluster) ([]*config.Cluster, error) {
	sel, err := metav1.LabelSelectorAsSelector(&selector)
	if err != nil {
		return nil, fmt.Errorf("cluster selector: %w", err)
	}
	var out []*config.Cluster
	for i := range clusters {
		if sel.Matches(labels.Set(clusters[i].Metadata.Labels)) {
			out = append(out, &clusters[i])
		}
	}
	return out, nil
}
