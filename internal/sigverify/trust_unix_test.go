//go:build unix

package sigverify_test

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/sigverify"
)

// A FIFO named as the trusted root is refused unopened (reading it would
// block).
func TestLoadTrustedRootFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	if _, _, err := sigverify.LoadTrustedRoot(fifo, ""); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a FIFO: %v", err)
	}
}
