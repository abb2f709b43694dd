// Package hints says, after a docker build, one useful thing about the
// build's Dockerfile: that base images are unpinned, or (after a failed
// build with pinned ones) how to roll back. It answers from local data
// only (the Dockerfile and the cached tag histories): docker runs hooks
// after the user's command, so every millisecond is the user's.
package hints

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/docker-cghistory/docker-cghistory/internal/dockerfile"
	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Commands are the docker commands the hints follow, as docker's hook
// configuration names them.
const Commands = "build,buildx build,builder build,image build"

// Event is what docker tells a hook: the command (e.g. "build"), the names
// of the flags given (never their values, nor the arguments), and the
// command's error, if it failed.
type Event struct {
	Command string
	Flags   map[string]string
	Failed  bool
}

// For returns the hint after event, for the Dockerfile in dir, or "" when
// there is nothing useful to say. It never touches the network.
func For(event Event, dir string, c *cache.Cache) string {
	if _, ok := event.Flags["file"]; ok {
		return "" // a Dockerfile elsewhere: docker does not say which
	}
	if _, ok := event.Flags["f"]; ok {
		return ""
	}
	path := filepath.Join(dir, "Dockerfile")
	src, err := os.ReadFile(path)
	if err != nil || len(src) > 1<<20 {
		return ""
	}
	found, _, err := dockerfile.Refs(src)
	if err != nil {
		return ""
	}
	unpinned := 0
	var rollback string
	for _, f := range found {
		if !f.Image.Pinned() {
			unpinned++
			continue
		}
		if rollback == "" && event.Failed {
			rollback = before(c, f.Image.Tagged(), f.Image.Digest)
		}
	}
	switch {
	case unpinned > 0:
		what := "base images are"
		if unpinned == 1 {
			what = "base image is"
		}
		return fmt.Sprintf("%d %s unpinned: docker cgpin ./Dockerfile", unpinned, what)
	case event.Failed && len(found) > 0 && rollback != "":
		return "The build failed on pinned base images; back to the builds before them: docker cgpin --at " + rollback + " ./Dockerfile"
	case event.Failed && len(found) > 0:
		return "The build failed on pinned base images; pick an earlier build with docker cghistory IMAGE, then docker cgpin --at DATE ./Dockerfile"
	}
	return ""
}

// before is the time just before the pinned build came out, from the cached
// history of its tag, or "".
func before(c *cache.Cache, tag name.Tag, pinned v1.Hash) string {
	entries, ok := history.Cached(c, tag)
	if !ok {
		return ""
	}
	for _, e := range entries {
		if e.Digest == pinned && !e.UpdatedAt.IsZero() {
			return e.UpdatedAt.Add(-time.Second).UTC().Format(time.RFC3339)
		}
	}
	return ""
}
