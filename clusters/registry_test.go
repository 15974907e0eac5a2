package clusters

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/flotilla-dev/flotilla/config"
)

const testKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: "https://127.0.0.1:1"}
- name: b
  cluster: {server: "https://127.0.0.1:2"}
users:
- name: u
  user: {token: TOKEN}
contexts:
- name: a
  context: {cluster: a, user: u}
- name: b
  context: {cluster: b, user: u}
current-context: a
`

// TestRegistryKeepsClientsWhileTheSpecHolds: the same Cluster gets the same client; a changed
// context or kubeconfig content gets a new one; Retain drops the clusters no longer configured;
// clients share one schema cache.
func TestRegistryKeepsClientsWhileTheSpecHolds(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	write := func(token string) {
		t.Helper()
		if err := os.WriteFile(kubeconfig, []byte(testKubeconfig+"# "+token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("one")
	cluster := func(name, context string) *config.Cluster {
		c := &config.Cluster{}
		c.Metadata.Name, c.Spec.Kubeconfig, c.Spec.Context = name, kubeconfig, context
		return c
	}
	r := NewRegistry()
	first, err := r.Target(cluster("dev", "a"))
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := r.Target(cluster("dev", "a")); again != first {
		t.Error("the same spec made a new client")
	}
	other, err := r.Target(cluster("dev", "b"))
	if err != nil {
		t.Fatal(err)
	}
	if other == first || other.Config.Host != "https://127.0.0.1:2" {
		t.Errorf("a changed context: same client %v, host %s", other == first, other.Config.Host)
	}
	write("two")
	rotated, err := r.Target(cluster("dev", "b"))
	if err != nil {
		t.Fatal(err)
	}
	if rotated == other {
		t.Error("a changed kubeconfig kept the old client")
	}
	prod, err := r.Target(cluster("prod", "a"))
	if err != nil {
		t.Fatal(err)
	}
	if prod.schemaCache != rotated.schemaCache {
		t.Error("clusters of one registry do not share the schema cache")
	}
	r.Retain("prod")
	if again, _ := r.Target(cluster("prod", "a")); again != prod {
		t.Error("Retain dropped a retained cluster")
	}
	if again, _ := r.Target(cluster("dev", "b")); again == rotated {
		t.Error("Retain kept a cluster it should drop")
	}
}
