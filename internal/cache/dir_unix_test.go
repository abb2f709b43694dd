//go:build unix

package cache

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

// A FIFO or device where the tag should be never blocks or is read.
func TestTagNotRegular(t *testing.T) {
	dir := t.TempDir()
	assert.NilError(t, syscall.Mkfifo(filepath.Join(dir, tagName), 0o600))
	done := make(chan error, 1)
	go func() { _, err := Open(dir, 0); done <- err }()
	select {
	case err := <-done:
		assert.Check(t, err)
		assert.Check(t, exists(filepath.Join(dir, subdirName, tagName)))
	case <-time.After(10 * time.Second):
		t.Fatal("Open blocked on a FIFO")
	}
}
