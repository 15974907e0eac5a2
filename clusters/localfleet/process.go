package localfleet

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Process is one program of a fleet: etcd, or a cluster's kube-apiserver, kube-controller-manager,
// kube-scheduler or kwok. It is what fleet.json records, so that `fleet status` and
// `fleet down` find it again from another process.
type Process struct {
	Name    string `json:"name"`
	Cluster string `json:"cluster,omitempty"`
	PID     int    `json:"pid"`
	// StartTime is the kernel's start time of PID (clock ticks since boot). It tells this
	// process apart from a later one that reuses the PID.
	StartTime uint64 `json:"startTime"`
	Log       string `json:"log"`
}

// runningProcess is a Process this program started and waits on.
type runningProcess struct {
	Process
	exited  chan struct{}
	waitErr error
}

// stopGrace is how long a process gets between SIGTERM and SIGKILL. A local cluster's data is
// disposable, so there is no reason to wait for a graceful apiserver shutdown.
const stopGrace = 2 * time.Second

// childGOGC is the GOGC of every cluster process; see spawn.
const childGOGC = "400"

// spawner starts child processes from one OS thread that never exits. Children get
// PR_SET_PDEATHSIG=SIGKILL, which the kernel delivers when the parent *thread* dies; pinning the
// thread makes that the same moment as the parent process dying, for any reason, even SIGKILL.
var spawner struct {
	once sync.Once
	reqs chan spawnRequest
}

type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

func startOnPinnedThread(cmd *exec.Cmd) error {
	spawner.once.Do(func() {
		spawner.reqs = make(chan spawnRequest)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as the process
			for r := range spawner.reqs {
				r.done <- r.cmd.Start()
			}
		}()
	})
	done := make(chan error, 1)
	spawner.reqs <- spawnRequest{cmd: cmd, done: done}
	return <-done
}

// spawn starts bin in its own process group with output appended to logPath. The child is
// killed by the kernel if this process dies.
func spawn(name, cluster, logPath, bin string, args ...string) (*runningProcess, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log for %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = childProcAttr()
	// Starting a fleet is CPU-bound on small machines, much of it garbage collection in the API
	// servers while they bootstrap and compile CRD schemas. A higher GOGC trades memory for
	// start-up time: about 20% faster for 3 clusters on 2 cores, ~150 MB more per API server.
	cmd.Env = append(os.Environ(), "GOGC="+childGOGC)
	if err := startOnPinnedThread(cmd); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &runningProcess{
		Process: Process{Name: name, Cluster: cluster, PID: cmd.Process.Pid, Log: logPath},
		exited:  make(chan struct{}),
	}
	p.StartTime, _ = processStartTime(p.PID)
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	return p, nil
}

// hasExited reports whether the process has ended. One that has just died (the kernel shows a
// zombie, or nothing) is waited for until its Wait has reaped it, so that whoever saw it dead in
// /proc (`fleet status`) and asks for a restart finds it exited here too.
func (p *runningProcess) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
	}
	if p.isAlive() {
		return false
	}
	select {
	case <-p.exited:
		return true
	case <-time.After(reapWait):
		return false
	}
}

// reapWait bounds how long hasExited waits for a dead process to be reaped.
const reapWait = 5 * time.Second

// stop ends the process group: SIGTERM, then SIGKILL after stopGrace. It returns once the
// process has been reaped.
func (p *runningProcess) stop() {
	if p.hasExited() {
		return
	}
	_ = syscall.Kill(-p.PID, syscall.SIGTERM)
	select {
	case <-p.exited:
		return
	case <-time.After(stopGrace):
	}
	_ = syscall.Kill(-p.PID, syscall.SIGKILL)
	<-p.exited
}

// failure describes an unexpected exit with the tail of the process's log.
func (p *runningProcess) failure() error {
	return fmt.Errorf("%s exited during start (%v); last lines of %s:\n%s", p.Name, p.waitErr, p.Log, LogTail(p.Log, 15))
}

// LogTail returns the last n lines of a log file, or a note that it cannot be read.
func LogTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	return tail(b, n)
}

// isAlive reports whether p still runs: the PID exists, is not a zombie, and was started at the
// recorded time (so a reused PID does not count).
func (p Process) isAlive() bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(p.PID) + "/stat")
	if err != nil {
		return false
	}
	fields, ok := statFields(stat)
	if !ok || fields[0] == "Z" {
		return false
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	return err == nil && (p.StartTime == 0 || start == p.StartTime)
}

// kill ends a recorded process that this program did not start (found in fleet.json):
// SIGTERM to its group, SIGKILL after stopGrace, and waits up to timeout for it to be gone.
func (p Process) kill(timeout time.Duration) error {
	if !p.isAlive() {
		return nil
	}
	p.signal(syscall.SIGTERM)
	deadline := time.Now().Add(timeout)
	killAt := time.Now().Add(stopGrace)
	for p.isAlive() {
		if time.Now().After(killAt) {
			p.signal(syscall.SIGKILL)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s (pid %d) still runs %s after SIGKILL", p.Name, p.PID, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// signal sends sig to p's process group, or to p alone if it leads no group.
func (p Process) signal(sig syscall.Signal) {
	if err := syscall.Kill(-p.PID, sig); err != nil {
		_ = syscall.Kill(p.PID, sig)
	}
}

func processStartTime(pid int) (uint64, error) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	fields, ok := statFields(stat)
	if !ok {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// statFields splits /proc/PID/stat after the command name, which may hold spaces and
// parentheses: fields[0] is the state, fields[19] the start time.
func statFields(stat []byte) ([]string, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return nil, false
	}
	fields := bytes.Fields(stat[i+1:])
	if len(fields) < 20 {
		return nil, false
	}
	out := make([]string, len(fields))
	for j, f := range fields {
		out[j] = string(f)
	}
	return out, true
}
