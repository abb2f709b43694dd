//go:build unix

package pin

import (
	"errors"
	"os"
	"syscall"
)

// sameOwner gives tmp the owner and group of target. Only root may give a
// file away; for anyone else the new file is theirs already, as the old one
// most likely was, so a refusal is not an error.
func sameOwner(tmp *os.File, target string) error {
	fi, err := os.Stat(target)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if err := tmp.Chown(int(st.Uid), int(st.Gid)); err != nil && !errors.Is(err, os.ErrPermission) {
		return err
	}
	return nil
}

// links is a file's hard link count.
func links(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}

// ownedAlike reports whether two files have the same owner.
func ownedAlike(a, b os.FileInfo) bool {
	sa, ok1 := a.Sys().(*syscall.Stat_t)
	sb, ok2 := b.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && sa.Uid == sb.Uid
}

// writable reports whether the user may write the file in place, as an
// editor asks before saving: access(2) for anyone but root; for root, who
// may write anything, whether any write bit is set (a 0444 file is meant
// to be left alone, as sed -i and editors warn).
func writable(path string, fi os.FileInfo) bool {
	if os.Geteuid() == 0 {
		return fi.Mode().Perm()&0o222 != 0
	}
	return syscall.Access(path, 0x2 /* W_OK */) == nil
}

// openRead opens a file for reading without blocking: a FIFO swapped in
// after the check that it was a regular file must not hang the run.
func openRead(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
