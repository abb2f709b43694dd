//go:build !unix

package pin

import "os"

// sameOwner is a no-op where files have no Unix owner.
func sameOwner(*os.File, string) error { return nil }
