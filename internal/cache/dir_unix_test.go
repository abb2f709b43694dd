//go:build unix

package cache

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
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

// A user sharing a world-writable directory with another (root here, in
// the cache's own layout): the cache keeps to a subdirectory of its own and
// deletes or chmods nothing of the other's. This test binary runs itself as
// nobody (uid 65534) for the part of the user; that needs root.
func TestOtherUsersFiles(t *testing.T) {
	if dir := os.Getenv("CACHE_TEST_SHARED_DIR"); dir != "" { // the child, as nobody
		c := New(dir, 1)
		for i := range 3 {
			assert.NilError(t, c.Put("manifests", fmt.Sprint(i), []byte("xx")))
		}
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("running the cache as another user needs root")
	}
	// Under /tmp itself: nobody cannot reach t.TempDir's 0700 parents.
	shared, err := os.MkdirTemp("", "cache-shared-")
	assert.NilError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(shared) })
	intact := plant(t, shared, []userFile{
		{path: "manifests/root-entry", content: []byte("root's"), mode: 0o600},
		{path: "report.txt", content: []byte("root's"), mode: 0o644},
	})
	// No sticky bit: anyone may delete anything here.
	assert.NilError(t, os.Chmod(shared, 0o777))
	assert.NilError(t, os.Chmod(filepath.Join(shared, "manifests"), 0o777))

	exe, err := os.Executable()
	assert.NilError(t, err)
	bin, err := os.MkdirTemp("", "cache-test-bin-")
	assert.NilError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(bin) })
	b, err := os.ReadFile(exe)
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(filepath.Join(bin, "cache.test"), b, 0o755))
	assert.NilError(t, os.Chmod(bin, 0o755))

	cmd := exec.Command(filepath.Join(bin, "cache.test"), "-test.run=^TestOtherUsersFiles$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "CACHE_TEST_SHARED_DIR="+shared, "TMPDIR="+shared)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if _, exited := err.(*exec.ExitError); err != nil && !exited {
		t.Skipf("cannot run as uid 65534 here: %v", err)
	}
	assert.NilError(t, err, "as nobody:\n%s", out)

	intact()
	checkDirMode(t, shared, 0o777)
	checkDirMode(t, filepath.Join(shared, "manifests"), 0o777)
	fi, err := os.Stat(filepath.Join(shared, subdirName, tagName))
	assert.NilError(t, err)
	uid, _ := owner(fi)
	assert.Check(t, is.Equal(uid, 65534))
	var n int
	assert.NilError(t, filepath.WalkDir(filepath.Join(shared, subdirName, "manifests"), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	}))
	assert.Check(t, n <= 1, "%d entries over a bound of 1 byte", n)
}
