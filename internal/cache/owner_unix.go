//go:build unix

package cache

import (
	"io/fs"
	"os"
	"syscall"
)

// openFlags are added when the cache opens a file it only reads, such as
// the marker: a FIFO swapped in must not block the open.
const openFlags = syscall.O_NONBLOCK

// owner returns the user id owning the file fi describes, and whether that
// is the user running the cache.
func owner(fi fs.FileInfo) (uid int, ours bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return -1, false
	}
	return int(st.Uid), int(st.Uid) == os.Geteuid()
}

// private reports whether only its owner may write in the directory fi
// describes.
func private(fi fs.FileInfo) bool { return fi.Mode().Perm()&0o022 == 0 }

// written reports whether the file fi describes looks like an entry Put
// wrote: the user's own, mode 0600. Anything else (a file the user dropped
// in with their usual 0644, another user's file) is never pruned.
func written(fi fs.FileInfo) bool {
	_, ours := owner(fi)
	return ours && fi.Mode().Perm() == fileMode
}
