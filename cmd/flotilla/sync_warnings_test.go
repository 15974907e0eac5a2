package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/reconciler"
)

func TestSyncPrintsWarningsAsNotes(t *testing.T) {
	var out bytes.Buffer
	printSyncResults(&out, []reconciler.Result{{App: "bookinfo", Cluster: "dev", Status: reconciler.StatusSynced,
		Warnings: []string{"Warning (DestinationRule reviews.bookinfo) base/istio/destinationrules.yaml: spec.subsets[2].labels: subset v3 selects no pods"}}})
	want := "\ndev/bookinfo: Warning (DestinationRule reviews.bookinfo) base/istio/destinationrules.yaml: spec.subsets[2].labels: subset v3 selects no pods\n"
	if !strings.Contains(out.String(), want) {
		t.Errorf("sync output lacks the warning as a note:\n%s", out.String())
	}
}
