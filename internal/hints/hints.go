// Package hints says, after a docker build, one useful thing about the
// build's Dockerfile: that base images are unpinned, or (after a failed
// build with pinned ones) how to roll back. It answers from local data
// only (the Dockerfile and the cached tag histories): docker runs hooks
// after the user's command, so every millisecond is the user's.
package hints

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

// MaxDockerfile is the largest Dockerfile a hint reads; a larger one gets
// no hint.
const MaxDockerfile = 1 << 20

// Deadline bounds a hint: docker waits for the hook before it returns to
// the user, so a hint that is not ready by then is not given.
const Deadline = 500 * time.Millisecond

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
	src, err := readDockerfile(dir)
	if err != nil {
		return ""
	}
	found, _, err := dockerfile.Refs(src)
	if err != nil {
		return ""
	}
	unpinned := 0
	var rollback, bisect string
	for _, f := range found {
		if !f.Image.Pinned() {
			unpinned++
			continue
		}
		if rollback == "" && event.Failed {
			if rollback = before(c, f.Image.Tagged(), f.Image.Digest); rollback != "" {
				bisect = fmt.Sprintf("docker cghistory bisect %s --good WHEN-IT-LAST-WORKED --bad %s -- docker build --build-arg BASE={} .",
					f.Image.Tagged(), f.Image.Digest)
			}
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
		return "The build failed on pinned base images; back to the builds before them: docker cgpin --at " + rollback + " ./Dockerfile" +
			"; to find the build that broke it: " + bisect
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

// readDockerfile reads dir's Dockerfile: a regular file of at most
// MaxDockerfile bytes, or a symlink to one inside dir. Anything else
// (a device such as /dev/zero, a FIFO, a socket, a directory) is never
// opened for reading, and a FIFO swapped in after the check cannot block
// the open (O_NONBLOCK) nor be read (the opened file is checked again).
func readDockerfile(dir string) ([]byte, error) {
	path := filepath.Join(dir, "Dockerfile")
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		if path, err = insideSymlink(dir, path); err != nil {
			return nil, err
		}
		if fi, err = os.Lstat(path); err != nil {
			return nil, err
		}
	}
	if !fi.Mode().IsRegular() || fi.Size() > MaxDockerfile {
		return nil, errors.New("not a regular file of at most 1 MiB")
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if opened, err := f.Stat(); err != nil || !opened.Mode().IsRegular() || !os.SameFile(fi, opened) {
		return nil, errors.New("changed while read")
	}
	src, err := io.ReadAll(io.LimitReader(f, MaxDockerfile+1))
	if err != nil {
		return nil, err
	}
	if len(src) > MaxDockerfile {
		return nil, errors.New("larger than 1 MiB")
	}
	return src, nil
}

// insideSymlink resolves the symlink path to the file it names, which must
// lie inside dir: a hint never reads a file out of the build's directory.
func insideSymlink(dir, path string) (string, error) {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(root, target)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", errors.New("a symlink out of the directory")
	}
	return target, nil
}
