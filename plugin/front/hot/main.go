// Command cghistory-hot answers what docker waits for on its hot paths,
// handed on by the front, from local files only: the hook after `docker
// build` (`docker-cghistory cghistory docker-cli-plugin-hooks REQUEST`:
// the Dockerfile in the working directory and the cached tag histories)
// and the completion of past builds from the cache (`__complete cghistory
// IMAGE~`). It links what those need and nothing more (no HTTP client, no
// docker CLI); any other completion goes on to cghistory-full.
package main

import (
	"fmt"
	"os"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/docker-cghistory/docker-cghistory/internal/handoff"
	"github.com/docker-cghistory/docker-cghistory/internal/hints"
)

// fullName is the full binary, next to this one.
const fullName = "cghistory-full"

func main() {
	if len(os.Args) == 4 && os.Args[2] == "docker-cli-plugin-hooks" {
		if dir, err := os.Getwd(); err == nil {
			_ = hints.Hook(os.Stdout, os.Args[3], dir, cache.New(cache.DefaultDir(), 0))
		}
		return
	}
	if completeBuilds(os.Stdout, os.Stderr, os.Args) {
		return
	}
	path, err := handoff.Sibling(fullName)
	if err != nil {
		fmt.Fprintln(os.Stderr, "docker-cghistory:", err)
		os.Exit(1)
	}
	os.Exit(handoff.Run(path, os.Args))
}
