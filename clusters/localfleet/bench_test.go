package localfleet

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"strconv"
	"testing"
)

// BenchmarkStartThreeClusters measures what `flotilla fleet up --clusters 3` does with a warm
// binary cache: start three clusters with the Istio CRDs until all are ready. It also reports the
// resident memory of a ready cluster, all its processes together plus its share of etcd.
//
//	go test -run '^$' -bench StartThreeClusters -benchtime 3x ./clusters/localfleet
func BenchmarkStartThreeClusters(b *testing.B) {
	if _, err := EnsureBinaries(context.Background(), DefaultBuildOptions()); err != nil {
		b.Fatal(err)
	}
	var rssTotal float64
	for i := 0; i < b.N; i++ {
		opts := DefaultOptions()
		opts.Clusters = 3
		opts.Dir = b.TempDir()
		f, err := Start(context.Background(), opts)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		rssTotal += fleetRSSPerCluster(f)
		if err := f.Stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(rssTotal/float64(b.N)/(1<<20), "MB-RSS/cluster")
}

// fleetRSSPerCluster is the fleet's resident memory divided by its clusters, in bytes.
func fleetRSSPerCluster(f *Fleet) float64 {
	total := processRSS(f.etcd.PID)
	for _, c := range f.Clusters {
		for _, p := range c.processes {
			total += processRSS(p.PID)
		}
	}
	return float64(total) / float64(len(f.Clusters))
}

// processRSS reads VmRSS from /proc/PID/status, in bytes.
func processRSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	scanner := bufio.NewScanner(bytes.NewReader(b))
	for scanner.Scan() {
		if rest, ok := bytes.CutPrefix(scanner.Bytes(), []byte("VmRSS:")); ok {
			fields := bytes.Fields(rest)
			if len(fields) > 0 {
				kb, _ := strconv.ParseInt(string(fields[0]), 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}
