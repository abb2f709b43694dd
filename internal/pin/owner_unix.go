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
