package bisect_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/bisect"
)

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }

func TestExecRunner(t *testing.T) {
	var out strings.Builder
	r := bisect.ExecRunner{Stdout: &out}
	ctx := context.Background()
	if st, err := r.Run(ctx, []string{"sh", "-c", `echo "$CGHISTORY_STEP $1"; exit 3`, "sh", "x"}, []string{"CGHISTORY_STEP=4"}); st != 3 || err != nil || out.String() != "4 x\n" {
		t.Errorf("status %d, %v, output %q", st, err, out.String())
	}
	if st, err := r.Run(ctx, []string{"sh", "-c", "kill -9 $$"}, nil); st != -1 || err != nil {
		t.Errorf("a signal: status %d, %v", st, err)
	}
	// Ctrl-C reaches the command too; it may die of it first.
	for _, sig := range []string{"INT", "TERM"} {
		if st, err := r.Run(ctx, []string{"sh", "-c", "kill -" + sig + " $$"}, nil); st != -1 || !errors.Is(err, bisect.ErrInterrupted) {
			t.Errorf("SIG%s: status %d, %v; want bisect.ErrInterrupted", sig, st, err)
		}
	}
	tctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if st, _ := r.Run(tctx, []string{"sleep", "30"}, nil); st != -1 || time.Since(start) > 10*time.Second {
		t.Errorf("a hanging command: status %d after %s", st, time.Since(start))
	}
	if err := bisect.Check([]string{"./no-such-file"}); err == nil {
		t.Error("Check accepts a missing program")
	}
	if got := bisect.Substitute([]string{"--build-arg", "BASE={}", "{}{}"}, "r@d"); strings.Join(got, " ") != "--build-arg BASE=r@d r@dr@d" {
		t.Errorf("Substitute = %v", got)
	}
}
