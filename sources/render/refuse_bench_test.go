package render_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/sources/remote"
	"github.com/flotilla-dev/flotilla/sources/render"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

// BenchmarkRefuse measures how fast, and in how much memory, hostile repositories are refused.
// maxRSS-MB is the high-water mark of the whole test process, so run one case per process:
//
//	go test -run '^$' -bench 'Refuse/list-100000' -benchtime 3x ./sources/render
//
// Before these limits held while decoding, the List took minutes and 846 MB, the deep
// documents hung, and a remote body of 1 GiB took 5.9 GB.
func BenchmarkRefuse(b *testing.B) {
	var deep strings.Builder
	for range 500 {
		fmt.Fprintf(&deep, "---\n%s%s\n", strings.Repeat("[", 9_990), strings.Repeat("]", 9_990))
	}
	flow := "[" + strings.Repeat("a,", 7<<20) + "a]\n" // 14 MiB, 7 million nodes
	stream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("x", 64<<10))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer stream.Close()
	cases := []struct {
		name, wantErr string
		files         map[string]string
		remote        bool
	}{
		{name: "list-100000", files: map[string]string{"app/r.yaml": list(100_000)}, wantErr: "objects read by one render"},
		{name: "deep-500x9990", files: map[string]string{"app/r.yaml": deep.String()}, wantErr: "YAML nesting depth"},
		{name: "flow-7M-nodes", files: map[string]string{"app/r.yaml": flow}, wantErr: "YAML nodes read by one render"},
		{name: "loads-2^23", files: componentDiamond(22), wantErr: "kustomizations loaded by one render"},
		{
			name: "remote-stream", remote: true, wantErr: "more than 16777216 bytes",
			files: map[string]string{"app/kustomization.yaml": "configMapGenerator: [{name: c, files: [" + stream.URL + "/x]}]\n"},
		},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			files := map[string]string{"app/kustomization.yaml": "resources: [r.yaml]\n"}
			for k, v := range c.files {
				files[k] = v
			}
			view, err := tree.FromFiles(files, tree.DefaultLimits())
			if err != nil {
				b.Fatal(err)
			}
			if c.remote {
				view.AllowRemoteBases(remote.NewFetcher(remote.Options{Timeout: time.Minute, MaxRedirects: 3, AllowLocalAddresses: true}))
			}
			b.ReportAllocs()
			for b.Loop() {
				_, err := render.Render(context.Background(), view.Fresh(), "app")
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					b.Fatalf("err = %v, want %q", err, c.wantErr)
				}
			}
			var usage syscall.Rusage
			if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err == nil {
				b.ReportMetric(float64(usage.Maxrss)/1024, "maxRSS-MB")
			}
		})
	}
}
