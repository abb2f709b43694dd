package bisect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// Runner runs the command once with env added to the environment and
// returns its exit status; an error means it could not be started. A
// process killed by a signal has status -1; one killed by SIGINT or SIGTERM
// returns ErrInterrupted as well.
type Runner interface {
	Run(ctx context.Context, args, env []string) (int, error)
}

// ExecRunner runs the command directly (no shell) in the current
// directory, with the given standard streams. When ctx ends the process is
// killed.
type ExecRunner struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Run implements Runner.
func (r ExecRunner) Run(ctx context.Context, args, env []string) (int, error) {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r.Stdin, r.Stdout, r.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		// Ctrl-C in a terminal signals the whole foreground process group:
		// the command may die of it before this process has seen its own
		// copy, and that is still the user interrupting the bisection, not
		// a verdict on the build.
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && (ws.Signal() == syscall.SIGINT || ws.Signal() == syscall.SIGTERM) {
			return -1, ErrInterrupted
		}
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 0, err
	}
	return 0, nil
}

// Check says whether the command can be started at all: the program is
// found (on PATH, or at the path given) and executable.
func Check(args []string) error {
	if len(args) == 0 || args[0] == "" {
		return errors.New("no command to run: give one after --")
	}
	if _, err := exec.LookPath(args[0]); err != nil {
		return fmt.Errorf("the command cannot be run: %w", err)
	}
	return nil
}

// Environment is what the command learns about the build it tests.
func Environment(image string, b Build, step int) []string {
	return []string{
		"CGHISTORY_IMAGE=" + image,
		"CGHISTORY_DIGEST=" + b.Tested.String(),
		"CGHISTORY_UPDATED=" + b.UpdatedAt.UTC().Format("2006-01-02T15:04:05Z07:00"),
		fmt.Sprintf("CGHISTORY_STEP=%d", step),
	}
}

// Substitute replaces every "{}" in the arguments with image.
func Substitute(args []string, image string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, "{}", image)
	}
	return out
}

// verdictOf reads an exit status as git bisect run does: 0 good, 125
// skip, 1–127 bad; anything else (128 or more, a signal) stops the search.
func verdictOf(status int) (Verdict, bool) {
	switch {
	case status == 0:
		return Good, true
	case status == 125:
		return Skip, true
	case status > 0 && status < 128:
		return Bad, true
	}
	return "", false
}
