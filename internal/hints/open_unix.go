//go:build unix

package hints

import "syscall"

// openFlags keep reading the Dockerfile from blocking on a FIFO or following
// a symbolic link swapped in after the Lstat.
const openFlags = syscall.O_NONBLOCK | syscall.O_NOFOLLOW
