package history

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func configMap(name, value string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "namespace": "shop"},
		"data":     map[string]any{"value": value},
	}}
}

func secret(name, value string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata":   map[string]any{"name": name, "namespace": "shop"},
		"data":       map[string]any{"password": base64.StdEncoding.EncodeToString([]byte(value))},
		"stringData": map[string]any{"token": value + "-token"},
	}}
}

func TestSnapshotRoundTripsAndDeduplicates(t *testing.T) {
	ctx := context.Background()
	l, dir := openTest(t)
	var objects []*unstructured.Unstructured
	for i := range 20 {
		objects = append(objects, configMap(fmt.Sprintf("cm-%d", i), strings.Repeat("x", 500)))
	}
	objects = append(objects, secret("db", "hunter2-correct-horse"))
	first, err := l.PutSnapshot(ctx, "sha256:one", objects)
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.Snapshot(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != "sha256:one" {
		t.Errorf("digest %q", got.Digest)
	}
	if diff := cmp.Diff(objects, got.Objects); diff != "" {
		t.Errorf("snapshot read back (-stored +read):\n%s", diff)
	}

	// A one-object change stores one object and a manifest more, not the whole render.
	before := blobCount(t, dir)
	changed := append([]*unstructured.Unstructured{}, objects...)
	changed[3] = configMap("cm-3", "changed")
	second, err := l.PutSnapshot(ctx, "sha256:two", changed)
	if err != nil {
		t.Fatal(err)
	}
	if second == first {
		t.Error("two renders got the same snapshot address")
	}
	if added := blobCount(t, dir) - before; added != 2 {
		t.Errorf("a one-object change added %d blobs, want 2 (the object and the manifest)", added)
	}
	if again, _ := l.PutSnapshot(ctx, "sha256:one", objects); again != first {
		t.Errorf("the same render stored again got another address: %s, %s", again, first)
	}
}

func blobCount(t *testing.T, dir string) int {
	t.Helper()
	out, err := execSQLite(dir, "SELECT count(*) FROM blobs")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	fmt.Sscan(out, &n)
	return n
}

func TestNoSecretValueInTheDatabaseFile(t *testing.T) {
	ctx := context.Background()
	l, dir := openTest(t)
	const value = "hunter2-correct-horse-battery"
	s := secret("db", value)
	address, err := l.PutSnapshot(ctx, "sha256:s", []*unstructured.Unstructured{s, configMap("cm", "plain")})
	if err != nil {
		t.Fatal(err)
	}
	changed := secret("db", value+"-rotated")
	c := change("shop", "east", "aaaa", TriggerPoll, "Healthy")
	c.Snapshot = address
	c.Objects = []ObjectChange{{Object: "Secret/shop/db", Action: "configured", Diff: l.Diff(s, changed)}}
	record(t, l, c)
	if !strings.Contains(c.Objects[0].Diff, "[redacted]") {
		t.Errorf("the Secret's diff shows no masked value:\n%s", c.Objects[0].Diff)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	needles := []string{value, base64.StdEncoding.EncodeToString([]byte(value)), value + "-token", "hunter2"}
	files, _ := filepath.Glob(filepath.Join(dir, "ledger.db*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) {
				t.Errorf("%s holds the Secret value %q", filepath.Base(f), n)
			}
		}
	}
	l2, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	got, err := l2.Snapshot(ctx, address)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, got.Objects[0]); diff != "" {
		t.Errorf("the Secret read back (-stored +read):\n%s", diff)
	}
}

// TestTamperedSnapshotsAndPinsAreRefused: a blob or a pin edited in the database without the
// key is refused, not restored.
func TestTamperedSnapshotsAndPinsAreRefused(t *testing.T) {
	ctx := context.Background()
	l, dir := openTest(t)
	address, err := l.PutSnapshot(ctx, "sha256:x", []*unstructured.Unstructured{configMap("a", "good")})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Pin(ctx, Pin{App: "shop", Cluster: "east", Change: 1, Snapshot: address, Head: "bbbb"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.PinOf(ctx, "shop", "east"); err != nil {
		t.Fatalf("an intact pin: %v", err)
	}
	// Swap the object's blob for another object's.
	other, err := l.PutSnapshot(ctx, "sha256:y", []*unstructured.Unstructured{configMap("a", "evil")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := execSQLite(dir, "UPDATE blobs SET data = (SELECT data FROM blobs WHERE address != '"+address+"' AND address LIKE 'sha256:%' AND data != (SELECT data FROM blobs WHERE address LIKE 'sha256:%' ORDER BY id LIMIT 1) ORDER BY id DESC LIMIT 1) WHERE id = (SELECT min(id) FROM blobs WHERE address LIKE 'sha256:%')"); err != nil {
		t.Fatal(err)
	}
	_ = other
	if _, err := l.Snapshot(ctx, address); !errors.Is(err, ErrTampered) {
		t.Errorf("a swapped blob: %v; want ErrTampered", err)
	}
	if _, err := execSQLite(dir, "UPDATE pins SET body = replace(body, 'bbbb', 'cccc')"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.PinOf(ctx, "shop", "east"); !errors.Is(err, ErrTampered) {
		t.Errorf("an edited pin: %v; want ErrTampered", err)
	}
}
