//go:build !linux

package localfleet

import "syscall"

// childProcAttr puts a cluster process in its own process group. Only Linux can have the kernel
// kill it with its parent; elsewhere Stop and Down end it.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
