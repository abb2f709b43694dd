//go:build unix

package handoff

import (
	"fmt"
	"os"
	"syscall"
)

// ExeSuffix ends the names of executables.
const ExeSuffix = ""

// Run replaces this process with the binary at path: the same process (docker
// waits for this pid and talks to it through its plugin socket), the same
// arguments (argv[0] included: the full binary picks its command from it)
// and environment. It returns only on failure.
func Run(path string, args []string) int {
	err := syscall.Exec(path, args, os.Environ())
	fmt.Fprintf(os.Stderr, "docker-cghistory: run %s: %v\n", path, err)
	return 1
}
