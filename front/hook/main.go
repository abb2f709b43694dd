// Command cghistory-hook answers docker's hook after `docker build`
// (`docker-cghistory cghistory docker-cli-plugin-hooks REQUEST`, handed on
// by the front) from local files only: the Dockerfile in the working
// directory and the cached tag histories. docker waits for it after the
// user's build, so it links what the hint needs and nothing more (no HTTP
// client, no docker CLI).
package main

import (
	"os"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/docker-cghistory/docker-cghistory/internal/hints"
)

func main() {
	if len(os.Args) != 4 {
		os.Exit(2)
	}
	if dir, err := os.Getwd(); err == nil {
		_ = hints.Hook(os.Stdout, os.Args[3], dir, cache.New(cache.DefaultDir(), 0))
	}
}
