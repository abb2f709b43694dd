//go:build !unix

package cache

import "io/fs"

// openFlags: no flag is needed where FIFOs do not block opens.
const openFlags = 0

// owner: files have no Unix owner here; the user's own directories are
// protected by the system's ACLs instead.
func owner(fs.FileInfo) (uid int, ours bool) { return -1, true }

// private: Unix mode bits do not describe who may write here.
func private(fs.FileInfo) bool { return true }

// written: only names and layout tell the cache's files apart here.
func written(fs.FileInfo) bool { return true }
