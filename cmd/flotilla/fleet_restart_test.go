package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/clusters/localfleet"
	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
)

// upLeavesAWholeFleetAlone: `fleet up` on a ready fleet restarts nothing and says so.
func upLeavesAWholeFleetAlone(t *testing.T, dir string) {
	t.Helper()
	before := fleetStatus(t, dir)
	up := flotilla(t, "fleet", "up", "--dir", dir)
	if up.code != 0 || !strings.Contains(up.stdout, "nothing had stopped") {
		t.Errorf("fleet up on a whole fleet: exit %d\n%s%s", up.code, up.stdout, up.stderr)
	}
	if after := fleetStatus(t, dir); fmt.Sprint(processIDs(after)) != fmt.Sprint(processIDs(before)) {
		t.Errorf("fleet up on a whole fleet changed its processes: %v, then %v", processIDs(before), processIDs(after))
	}
}

// upRestartsAStoppedAPIServer: an API server is killed; status says so and exits 1; `fleet up`
// starts it again on its port, with the cluster's objects, and nothing else.
func upRestartsAStoppedAPIServer(t *testing.T, dir string) {
	t.Helper()
	before := fleetStatus(t, dir)
	c := before.Clusters[1]
	kubectlCLI(t, before.Kubeconfig, c.Name, "create", "namespace", "survives-restarts")
	killPID(t, c.Processes[0].PID, syscall.SIGKILL) // kube-apiserver
	fleettest.Eventually(t, time.Minute, func() error {
		status := flotilla(t, "fleet", "status", "--dir", dir)
		if status.code != 1 || !strings.Contains(tableRow(status.stdout, c.Name), "no: stopped: kube-apiserver") ||
			!strings.Contains(status.stdout, "Not ready: "+c.Name+". Restart what stopped") {
			return fmt.Errorf("fleet status: exit %d\n%s", status.code, status.stdout)
		}
		return nil
	})

	up := flotilla(t, "fleet", "up", "--dir", dir)
	if up.code != 0 || !strings.Contains(up.stdout, "ready again: restarted "+c.Name+"/kube-apiserver in") {
		t.Fatalf("fleet up after kube-apiserver stopped: exit %d\n%s%s", up.code, up.stdout, up.stderr)
	}
	after := fleetStatus(t, dir)
	if notReady := after.NotReady(); len(notReady) > 0 || after.Clusters[1].Server != c.Server {
		t.Errorf("after fleet up: not ready %v, %s at %s (was %s)", notReady, c.Name, after.Clusters[1].Server, c.Server)
	}
	changed := 0
	for part, pid := range processIDs(after) {
		if processIDs(before)[part] != pid {
			changed++
		}
	}
	if changed != 1 {
		t.Errorf("%d processes changed, want only %s's kube-apiserver: %v, then %v", changed, c.Name, processIDs(before), processIDs(after))
	}
	kubectlCLI(t, after.Kubeconfig, c.Name, "get", "namespace", "survives-restarts")
	if procs := fleettest.Processes(dir); len(procs) != 10 {
		t.Errorf("after the restart the fleet runs %d processes, want 10: %v", len(procs), procs)
	}
}

// upResumesAFleetWhoseSupervisorDied: the supervisor is killed, and every cluster process dies
// with it. Status says the fleet stopped; `fleet up` refuses to change it and starts it again
// as it was: same kubeconfig (CA, token, ports), same objects.
func upResumesAFleetWhoseSupervisorDied(t *testing.T, dir string) {
	t.Helper()
	before := fleetStatus(t, dir)
	kubeconfig, err := os.ReadFile(before.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	killPID(t, before.HolderPID, syscall.SIGKILL)
	fleettest.Eventually(t, time.Minute, func() error {
		if procs := fleettest.Processes(dir); len(procs) > 0 {
			return fmt.Errorf("still running: %v", procs)
		}
		return nil
	})
	status := flotilla(t, "fleet", "status", "--dir", dir)
	if status.code != 1 || !strings.Contains(status.stdout, "stopped: the process that held it is gone") || !strings.Contains(status.stdout, "Start it again") {
		t.Errorf("fleet status of a fleet whose supervisor died: exit %d\n%s", status.code, status.stdout)
	}
	if res := flotilla(t, "fleet", "up", "--dir", dir, "--clusters", "3"); res.code != 1 || !strings.Contains(res.stderr, "holds a stopped fleet of 2 cluster(s)") {
		t.Errorf("fleet up --clusters 3 on a stopped fleet of 2: exit %d\n%s", res.code, res.stderr)
	}

	up := flotilla(t, "fleet", "up", "--dir", dir)
	if up.code != 0 || !strings.Contains(up.stdout, "ready again: 2 cluster(s) started with their data") {
		t.Fatalf("fleet up of a stopped fleet: exit %d\n%s%s", up.code, up.stdout, up.stderr)
	}
	after := fleetStatus(t, dir)
	if notReady := after.NotReady(); len(notReady) > 0 {
		t.Errorf("not ready after resuming: %v", notReady)
	}
	if again, err := os.ReadFile(after.Kubeconfig); err != nil || string(again) != string(kubeconfig) {
		t.Errorf("the kubeconfig changed (CA, token or ports): %v\nbefore:\n%s\nafter:\n%s", err, kubeconfig, again)
	}
	kubectlCLI(t, after.Kubeconfig, after.Clusters[1].Name, "get", "namespace", "survives-restarts")
}

// fleetStatus is `fleet status -o json`, whatever its exit code.
func fleetStatus(t *testing.T, dir string) *localfleet.Status {
	t.Helper()
	res := flotilla(t, "fleet", "status", "--dir", dir, "-o", "json")
	var st localfleet.Status
	if err := json.Unmarshal([]byte(res.stdout), &st); err != nil {
		t.Fatalf("fleet status -o json: exit %d, %v\n%s%s", res.code, err, res.stdout, res.stderr)
	}
	return &st
}

// processIDs maps each of the fleet's processes ("etcd", "CLUSTER/PROCESS") to its pid.
func processIDs(st *localfleet.Status) map[string]int {
	ids := map[string]int{"etcd": st.Etcd.Process.PID}
	for _, c := range st.Clusters {
		for _, p := range c.Processes {
			ids[c.Name+"/"+p.Name] = p.PID
		}
	}
	return ids
}

// tableRow is the line of a printed table whose first column is first, with its columns
// separated by single spaces; "" if there is none.
func tableRow(out, first string) string {
	for _, line := range strings.Split(out, "\n") {
		if fields := strings.Fields(line); len(fields) > 0 && fields[0] == first {
			return strings.Join(fields, " ")
		}
	}
	return ""
}

func killPID(t *testing.T, pid int, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(pid, sig); err != nil {
		t.Fatalf("kill -%d %d: %v", sig, pid, err)
	}
}

func kubectlCLI(t *testing.T, kubeconfig, context string, args ...string) string {
	t.Helper()
	out, err := exec.Command("kubectl", append([]string{"--kubeconfig", kubeconfig, "--context", context}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl --context %s %s: %v\n%s", context, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestFleetHelpDescribesEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"fleet"}, {"fleet", "up"}, {"fleet", "status"}, {"fleet", "down"}, {"fleet", "build"}, {"quickstart"}} {
		help := flotilla(t, append(args, "--help")...)
		description, _, _ := strings.Cut(help.stdout, "\nUsage:")
		if help.code != 0 || strings.Count(strings.TrimSpace(description), "\n") < 2 {
			t.Errorf("%s --help has no description of a few lines:\n%s", strings.Join(args, " "), help.stdout)
		}
	}
	down := flotilla(t, "fleet", "down", "--help")
	for _, want := range []string{"--purge", "example repository stays"} {
		if !strings.Contains(down.stdout, want) {
			t.Errorf("fleet down --help does not mention %q:\n%s", want, down.stdout)
		}
	}
}
