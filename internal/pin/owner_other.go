//go:build !unix

package pin

import "os"

// sameOwner is a no-op where files have no Unix owner.
func sameOwner(*os.File, string) error { return nil }

// links is 1 where hard links cannot be counted.
func links(os.FileInfo) uint64 { return 1 }

// ownedAlike is true where files have no Unix owner.
func ownedAlike(_, _ os.FileInfo) bool { return true }

// writable reports whether the owner's write bit is set.
func writable(_ string, fi os.FileInfo) bool { return fi.Mode().Perm()&0o200 != 0 }

// openRead opens a file for reading.
func openRead(path string) (*os.File, error) { return os.Open(path) }
