//go:build !unix

package handoff

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
)

// ExeSuffix ends the names of executables.
const ExeSuffix = ".exe"

// Run starts the binary at path as a child (windows has no exec) with the
// front's arguments (argv[0] included: the full binary picks its command
// from it), standard streams and environment, and returns its exit code.
// Interrupts reach both processes from the console; this process outlives
// the child to pass its code on.
func Run(path string, args []string) int {
	signal.Ignore(os.Interrupt)
	cmd := exec.Command(path, args[1:]...)
	cmd.Args[0] = args[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	fmt.Fprintf(os.Stderr, "docker-cghistory: run %s: %v\n", path, err)
	return 1
}
