//go:build unix

package main

import (
	"fmt"
	"os"
	"syscall"
)

const exeSuffix = ""

// run replaces the front with the binary at path: the same process (docker
// waits for this pid and talks to it through its plugin socket), the same
// arguments (argv[0] included: the full binary picks its command from it)
// and environment. It returns only on failure.
func run(path string, args []string) int {
	err := syscall.Exec(path, args, os.Environ())
	fmt.Fprintf(os.Stderr, "docker-cghistory: run %s: %v\n", path, err)
	return 1
}
