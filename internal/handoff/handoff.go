// Package handoff runs a binary installed next to this one in this
// process's stead: the plugin's front hands docker's calls on this way.
package handoff

import (
	"fmt"
	"os"
	"path/filepath"
)

// Sibling is the path of the binary named name (ExeSuffix added) next to
// this one, its symlinks (cli-plugins/docker-cgpin → docker-cghistory)
// resolved.
func Sibling(name string) (string, error) {
	name += ExeSuffix
	self, err := os.Executable()
	if err == nil {
		self, err = filepath.EvalSymlinks(self)
	}
	if err != nil {
		return "", fmt.Errorf("cannot find its own file, nor %s next to it: %w", name, err)
	}
	path := filepath.Join(filepath.Dir(self), name)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%s is missing next to %s (make install installs the three): %w", name, self, err)
	}
	return path, nil
}
