package localfleet

import "syscall"

// childProcAttr puts a cluster process in its own process group and has the kernel kill it
// when the thread that started it dies (see startOnPinnedThread).
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
