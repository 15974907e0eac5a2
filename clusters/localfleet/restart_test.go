package localfleet_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/clusters/localfleet"
	"github.com/flotilla-dev/flotilla/clusters/localfleet/fleettest"
)

// TestRestartStoppedBringsBackStoppedParts: one cluster's API server stops, another cluster's
// kwok is killed. Status names both; RestartStopped starts exactly those two again, the API
// server on its old port, and the cluster's objects are still there.
func TestRestartStoppedBringsBackStoppedParts(t *testing.T) {
	fleet := shared.Fleet(t)
	second, third := fleet.Clusters[1], fleet.Clusters[2]
	ns := fleettest.Namespace(t, third)
	server := third.Server
	before := pids(t, fleet.Dir)
	third.StopAPIServer()
	kill(t, before[second.Name+"/kwok"], syscall.SIGKILL)

	st := waitForStatus(t, fleet.Dir, func(st *localfleet.Status) error {
		if !slices.Equal(st.NotReady(), []string{second.Name, third.Name}) {
			return fmt.Errorf("not ready: %v, want %s and %s", st.NotReady(), second.Name, third.Name)
		}
		return nil
	})
	for i, want := range map[int]string{1: "stopped: kwok", 2: "stopped: kube-apiserver"} {
		if got := st.Clusters[i].Reason; got != want {
			t.Errorf("%s: reason %q, want %q", st.Clusters[i].Name, got, want)
		}
	}

	restarted := restartStopped(t, fleet)
	if want := []string{second.Name + "/kwok", third.Name + "/kube-apiserver"}; !slices.Equal(restarted, want) {
		t.Errorf("restarted %v, want %v", restarted, want)
	}
	if third.Server != server {
		t.Errorf("%s moved from %s to %s", third.Name, server, third.Server)
	}
	fleettest.Kubectl(t, third, "get", "namespace", ns)
	after := pids(t, fleet.Dir)
	for part, pid := range before {
		changed := after[part] != pid
		if want := slices.Contains(restarted, part); changed != want {
			t.Errorf("%s: pid %d before, %d after; want a new process: %t", part, pid, after[part], want)
		}
	}
	requireReady(t, fleet.Dir)
}

// TestRestartStoppedRestartsEtcd: etcd is killed; every cluster turns not ready; RestartStopped
// starts etcd again on its port with its data, and the API servers serve again.
func TestRestartStoppedRestartsEtcd(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	ns := fleettest.Namespace(t, c)
	before, err := localfleet.ReadStatus(context.Background(), fleet.Dir)
	if err != nil {
		t.Fatal(err)
	}
	kill(t, before.Etcd.Process.PID, syscall.SIGKILL)

	waitForStatus(t, fleet.Dir, func(st *localfleet.Status) error {
		if st.Etcd.Ready || st.Etcd.Reason != "stopped" || st.Clusters[0].Reason != "etcd is not ready" {
			return fmt.Errorf("etcd: %+v; %s: %q", st.Etcd, st.Clusters[0].Name, st.Clusters[0].Reason)
		}
		return nil
	})
	restarted := restartStopped(t, fleet)
	if len(restarted) == 0 || restarted[0] != "etcd" {
		t.Errorf("restarted %v, want etcd first", restarted)
	}
	st := requireReady(t, fleet.Dir)
	if st.Etcd.URL != before.Etcd.URL {
		t.Errorf("etcd moved from %s to %s", before.Etcd.URL, st.Etcd.URL)
	}
	fleettest.Kubectl(t, c, "get", "namespace", ns)
}

// TestRestartStoppedReplacesShuttingDownAPIServer: on SIGTERM, a kube-apiserver stops listening
// at once but runs on for up to a minute. Status reports it as not ready, although its process
// runs, and RestartStopped stops it and starts a new one instead of waiting.
func TestRestartStoppedReplacesShuttingDownAPIServer(t *testing.T) {
	fleet := shared.Fleet(t)
	c := fleet.Clusters[0]
	old := pids(t, fleet.Dir)[c.Name+"/kube-apiserver"]
	kill(t, old, syscall.SIGTERM)

	st := waitForStatus(t, fleet.Dir, func(st *localfleet.Status) error {
		if st.Clusters[0].Ready {
			return errors.New("still ready")
		}
		return nil
	})
	if api := st.Clusters[0].Processes[0]; api.Running {
		if reason := st.Clusters[0].Reason; !strings.Contains(reason, "shutting down") {
			t.Errorf("%s: reason %q while kube-apiserver (pid %d) runs, want it to say it is shutting down", c.Name, reason, api.PID)
		}
	} else {
		t.Logf("kube-apiserver exited before status saw it shutting down")
	}
	restarted := restartStopped(t, fleet)
	if !slices.Contains(restarted, c.Name+"/kube-apiserver") {
		t.Errorf("restarted %v, want %s/kube-apiserver", restarted, c.Name)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", old)); err == nil {
		t.Errorf("the old kube-apiserver (pid %d) still runs", old)
	}
	requireReady(t, fleet.Dir)
}

// TestRestartStoppedOnAWholeFleetRestartsNothing: a ready fleet is left alone.
func TestRestartStoppedOnAWholeFleetRestartsNothing(t *testing.T) {
	fleet := shared.Fleet(t)
	requireReady(t, fleet.Dir)
	before := pids(t, fleet.Dir)
	if restarted := restartStopped(t, fleet); len(restarted) > 0 {
		t.Errorf("restarted %v in a whole fleet", restarted)
	}
	if after := pids(t, fleet.Dir); !maps.Equal(before, after) {
		t.Errorf("processes changed: %v, then %v", before, after)
	}
}

func restartStopped(t *testing.T, fleet *localfleet.Fleet) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var progress strings.Builder
	restarted, err := fleet.RestartStopped(ctx, &progress)
	t.Logf("RestartStopped: %v\n%s", restarted, progress.String())
	if err != nil {
		t.Fatal(err)
	}
	return restarted
}

// pids maps each part of the fleet in dir ("etcd", "CLUSTER/PROCESS") to its process ID.
func pids(t *testing.T, dir string) map[string]int {
	t.Helper()
	st, err := localfleet.ReadStatus(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int{"etcd": st.Etcd.Process.PID}
	for _, c := range st.Clusters {
		for _, p := range c.Processes {
			m[c.Name+"/"+p.Name] = p.PID
		}
	}
	return m
}

func kill(t *testing.T, pid int, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(pid, sig); err != nil {
		t.Fatalf("kill -%d %d: %v", sig, pid, err)
	}
}

// waitForStatus polls the fleet's status until check accepts it, and returns that status.
func waitForStatus(t *testing.T, dir string, check func(*localfleet.Status) error) *localfleet.Status {
	t.Helper()
	var st *localfleet.Status
	fleettest.Eventually(t, time.Minute, func() (err error) {
		if st, err = localfleet.ReadStatus(context.Background(), dir); err != nil {
			return err
		}
		return check(st)
	})
	return st
}

func requireReady(t *testing.T, dir string) *localfleet.Status {
	t.Helper()
	st, err := localfleet.ReadStatus(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if notReady := st.NotReady(); len(notReady) > 0 {
		t.Fatalf("not ready: %v: %+v", notReady, st)
	}
	return st
}
