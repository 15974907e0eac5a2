//go:build unix

package tree

import "syscall"

const openNoFollow = syscall.O_NOFOLLOW
