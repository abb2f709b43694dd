package hints

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
)

// TestForReadsOnlySmallRegularFiles: a Dockerfile that is a device, a FIFO,
// too large or a symlink out of the directory gets no hint, at once; a
// symlink inside the directory is read.
func TestForReadsOnlySmallRegularFiles(t *testing.T) {
	unpinned := "FROM cgr.dev/chainguard/go:latest\n"
	outside := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(outside, []byte(unpinned), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		setup func(df string) error
		hint  bool
	}{
		{"regular", func(df string) error { return os.WriteFile(df, []byte(unpinned), 0o644) }, true},
		{"/dev/zero", func(df string) error { return os.Symlink("/dev/zero", df) }, false},
		{"FIFO", func(df string) error { return syscall.Mkfifo(df, 0o644) }, false},
		{"directory", func(df string) error { return os.Mkdir(df, 0o755) }, false},
		{"over 1 MiB", func(df string) error {
			return os.WriteFile(df, []byte(unpinned+strings.Repeat("#\n", MaxDockerfile/2)), 0o644)
		}, false},
		{"symlink out", func(df string) error { return os.Symlink(outside, df) }, false},
		{"symlink in", func(df string) error {
			if err := os.WriteFile(df+".real", []byte(unpinned), 0o644); err != nil {
				return err
			}
			return os.Symlink("Dockerfile.real", df)
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := tc.setup(filepath.Join(dir, "Dockerfile")); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			got := For(Event{Command: "build"}, dir, cache.New(t.TempDir(), 0))
			if took := time.Since(start); took > Deadline {
				t.Errorf("took %s", took)
			}
			if (got != "") != tc.hint {
				t.Errorf("hint %q, want one: %v", got, tc.hint)
			}
		})
	}
}
