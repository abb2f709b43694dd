//go:build unix

package policy

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// trusted refuses a policy file that another user could have written, as
// OpenSSH refuses such an authorized_keys: one owned by someone other than
// you or root, writable by other users, or in a directory that is. Group
// write is fine for your own primary group (umask 002 with a group per
// user), and so is a directory with the sticky bit (/tmp): others cannot
// replace your file there, and a file they put there is theirs, refused.
// anyOwner (a safe directory) lets another user own them.
func trusted(name string, fi fs.FileInfo, anyOwner bool) error {
	if err := trustedBy(name, "it is", fi, anyOwner); err != nil {
		return err
	}
	dirs := []string{filepath.Dir(name)}
	if real, err := filepath.EvalSymlinks(name); err == nil && filepath.Dir(real) != dirs[0] {
		dirs = append(dirs, filepath.Dir(real))
	}
	for _, d := range dirs {
		dfi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if err := trustedBy(name, "its directory "+d+" is", dfi, anyOwner); err != nil {
			return err
		}
	}
	return nil
}

func trustedBy(name, what string, fi fs.FileInfo, anyOwner bool) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := int(st.Uid); uid != 0 && uid != os.Getuid() && !anyOwner {
		return fmt.Errorf("%s: refused: %s owned by another user (uid %d), not by you or root; a policy file is trusted like code (chown it, give the settings as flags, or list the repository in %s, as git's safe.directory)", name, what, uid, SafeDirectoryEnv)
	}
	perm := fi.Mode().Perm()
	sticky := fi.IsDir() && fi.Mode()&fs.ModeSticky != 0
	if !sticky && (perm&0o002 != 0 || perm&0o020 != 0 && int(st.Gid) != os.Getgid()) {
		return fmt.Errorf("%s: refused: %s writable by other users (%s); a policy file is trusted like code (chmod go-w it)", name, what, fi.Mode())
	}
	return nil
}
