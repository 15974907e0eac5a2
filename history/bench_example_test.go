package history

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/flotilla-dev/flotilla/examples"
	"github.com/flotilla-dev/flotilla/sources/render"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

// renderExample renders the example repository's overlay for env (dev, staging, prod).
func renderExample(b *testing.B, env string) *render.Manifests {
	b.Helper()
	dir := b.TempDir()
	err := fs.WalkDir(examples.Files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(examples.Files, path)
		if err != nil {
			return err
		}
		full := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		return os.WriteFile(full, data, 0o644)
	})
	if err != nil {
		b.Fatal(err)
	}
	view, err := tree.FromDir(dir, tree.DefaultLimits())
	if err != nil {
		b.Fatal(err)
	}
	m, err := render.Render(context.Background(), view, "overlays/"+env)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkLedgerBytesPerRevision records 100 one-line commits of the example App (bookinfo and
// its Istio policy) on its three clusters, as syncs do: a snapshot and a change (begin and end,
// with a diff of the one object changed) per cluster and commit. It reports, per revision and
// cluster, the bytes the database file grew by (records, snapshots, indexes), the bytes of
// snapshot blobs stored, and what storing each render whole (compressed) would take instead.
func BenchmarkLedgerBytesPerRevision(b *testing.B) {
	const commits = 100
	renders := map[string]*render.Manifests{}
	for _, env := range []string{"dev", "staging", "prod"} {
		renders[env] = renderExample(b, env)
	}
	for b.Loop() {
		b.StopTimer()
		l, dir := openTest(b)
		ctx := context.Background()
		before := databaseBytes(b, l, dir)
		whole := 0
		b.StartTimer()
		for i := range commits {
			for env, m := range renders {
				objects := append([]*unstructured.Unstructured{}, m.Objects...)
				changed := objects[len(objects)/2].DeepCopy()
				changed.SetAnnotations(map[string]string{"example.com/commit": fmt.Sprint(i)})
				objects[len(objects)/2] = changed
				address, err := l.PutSnapshot(ctx, fmt.Sprintf("sha256:%s-%d", env, i), objects)
				if err != nil {
					b.Fatal(err)
				}
				c := change("bookinfo", env, fmt.Sprintf("%040d", i), TriggerWebhook, "Healthy")
				c.Snapshot = address
				c.Objects = []ObjectChange{{Object: "x", Action: "configured", Diff: l.Diff(m.Objects[len(objects)/2], changed)}}
				record(b, l, c)
				b.StopTimer()
				for _, obj := range objects {
					text, _ := obj.MarshalJSON()
					whole += len(compress(text))
				}
				b.StartTimer()
			}
		}
		b.StopTimer()
		grown := databaseBytes(b, l, dir) - before
		var snapshots int64
		if err := l.store.(*SQLite).db.QueryRow("SELECT sum(length(data)) FROM blobs").Scan(&snapshots); err != nil {
			b.Fatal(err)
		}
		revisions := float64(commits * len(renders))
		b.ReportMetric(float64(grown)/revisions, "db-bytes/revision")
		b.ReportMetric(float64(snapshots)/revisions, "snapshot-bytes/revision")
		b.ReportMetric(float64(whole)/revisions, "whole-render-bytes/revision")
		b.ReportMetric(float64(len(renders["dev"].Objects)), "objects/render")
		b.StartTimer()
	}
}

// databaseBytes is the size of the database file, after a checkpoint of its WAL.
func databaseBytes(b *testing.B, l *Ledger, dir string) int64 {
	b.Helper()
	if _, err := l.store.(*SQLite).db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		b.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, DatabaseFile))
	if err != nil {
		b.Fatal(err)
	}
	return info.Size()
}
