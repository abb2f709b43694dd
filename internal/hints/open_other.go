//go:build !unix

package hints

// openFlags: Windows has neither flag; the Lstat before the open and the
// SameFile check after it still refuse a file swapped in between.
const openFlags = 0
