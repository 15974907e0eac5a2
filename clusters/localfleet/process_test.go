package localfleet

import (
	"os"
	"strings"
	"testing"
)

func TestStatFields(t *testing.T) {
	tests := []struct {
		name      string
		stat      string
		wantOK    bool
		state     string
		startTime string
	}{
		{
			name:   "plain name",
			stat:   "42 (etcd) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 9 0 123456 1000 10",
			wantOK: true, state: "S", startTime: "123456",
		},
		{
			name:   "name with spaces and parentheses",
			stat:   "43 (a (b) c) Z 1 43 43 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 9 0 777 1000 10",
			wantOK: true, state: "Z", startTime: "777",
		},
		{name: "truncated", stat: "44 (x) S 1 2 3", wantOK: false},
		{name: "no name", stat: "garbage", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields, ok := statFields([]byte(tt.stat))
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if fields[0] != tt.state || fields[19] != tt.startTime {
				t.Errorf("state, start time = %s, %s; want %s, %s", fields[0], fields[19], tt.state, tt.startTime)
			}
		})
	}
}

func TestProcessIsAliveChecksStartTime(t *testing.T) {
	self := holderProcess()
	if !self.isAlive() {
		t.Fatal("this process is not alive by its own record")
	}
	reused := self
	reused.StartTime++
	if reused.isAlive() {
		t.Error("a record with another start time counts as alive: a reused PID would be killed")
	}
	if (Process{PID: 1 << 30}).isAlive() {
		t.Error("a PID that does not exist counts as alive")
	}
}

// TestToolchainPinsVersions keeps the version constants and the embedded helper module in step.
func TestToolchainPinsVersions(t *testing.T) {
	gomod, err := toolchainFiles.ReadFile("toolchain/go.mod.txt")
	if err != nil {
		t.Fatal(err)
	}
	for module, version := range map[string]string{
		"k8s.io/kubernetes":         KubernetesVersion,
		"go.etcd.io/etcd/server/v3": EtcdVersion,
		"sigs.k8s.io/kwok":          KwokVersion,
		"istio.io/api":              IstioAPIVersion,
	} {
		if !strings.Contains(string(gomod), "\t"+module+" "+version+"\n") {
			t.Errorf("toolchain/go.mod.txt does not require %s %s", module, version)
		}
	}
	// Every staging module is replaced by the release matching the Kubernetes version.
	staging := "v0" + strings.TrimPrefix(KubernetesVersion, "v1")
	for _, line := range strings.Split(string(gomod), "\n") {
		if strings.Contains(line, "=>") && !strings.HasSuffix(line, " "+staging) {
			t.Errorf("replace %q does not pin %s", strings.TrimSpace(line), staging)
		}
	}
}

func TestClaimDirRefusesForeignFolders(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/keep.txt", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ClaimDir(dir); err == nil || !strings.Contains(err.Error(), "holds no fleet") {
		t.Fatalf("ClaimDir on a non-empty folder: err = %v", err)
	}
	if err := removeDir(dir); err == nil {
		t.Fatal("removeDir removed a folder without the fleet marker")
	}
	if _, err := os.Stat(dir + "/keep.txt"); err != nil {
		t.Fatalf("foreign file gone: %v", err)
	}
}
