//go:build !unix

package policy

import "io/fs"

// trusted checks nothing where files have no Unix owner and mode.
func trusted(string, fs.FileInfo, bool) error { return nil }
