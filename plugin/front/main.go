// Command docker-cghistory, as installed, is the plugin's front: a binary
// of the standard library (and docker's metadata type) that answers
// docker's metadata probe itself (run for every `docker --help` and `docker info`, before every
// plugin command and completion) and hands everything else to a binary
// installed next to it: the hook after `docker build` and completion to
// cghistory-hot (local files and caches only; it hands on what it cannot
// answer), the rest to the full binary, cghistory-full (exec on unix, a
// child process on windows). Every package linked into a Go binary runs
// its init in every process; the full binary's (sigstore-go,
// go-containerregistry, docker's CLI) cost more than the answers, so the
// front and cghistory-hot link none of them (front_test.go checks).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/handoff"
	"github.com/docker/cli/cli-plugins/metadata"
)

// version is set at build time with -ldflags "-X main.version=...", as the
// full binary's.
var version = "dev"

// The binaries next to the front (".exe" added on windows): the full one
// and the one for docker's other hot paths (hook, completion). Neither name starts with "docker-": docker takes every docker-*
// file in its plugin directories for a plugin.
const (
	FullName = "cghistory-full"
	HotName  = "cghistory-hot"
)

// The command names and the one-line summaries docker shows in `docker
// --help`: those of internal/commands (front_test.go checks), which the
// front cannot link.
const historyName = "cghistory"

var shortDescriptions = map[string]string{
	"cghistory": "Show every build a Chainguard image tag pointed to",
	"cgdiff":    "Compare the packages and CVEs of two image builds",
	"cgpin":     "Pin image references in Dockerfiles, Compose, Kubernetes and CI files to digests",
}

func main() {
	args := os.Args
	switch {
	case len(args) == 2 && args[1] == metadata.MetadataSubcommandName:
		if err := writeMetadata(os.Stdout, commandName(args[0])); err != nil {
			os.Exit(1)
		}
		return
	}
	next := FullName
	switch {
	case len(args) == 4 && args[1] == historyName && args[2] == metadata.HookSubcommandName:
		next = HotName // docker waits for it after the user's build
	case len(args) > 1 && args[1] == "__complete":
		next = HotName // from the caches when it can, else on to the full binary
	}
	path, err := handoff.Sibling(next)
	if err != nil {
		fmt.Fprintln(os.Stderr, "docker-cghistory:", err)
		os.Exit(1)
	}
	os.Exit(handoff.Run(path, args))
}

// writeMetadata prints the plugin's metadata as docker/cli's plugin.Run
// does (same fields, same indentation).
func writeMetadata(w *os.File, name string) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "     ")
	return enc.Encode(metadata.Metadata{
		SchemaVersion:    "0.1.0",
		Vendor:           "docker-cghistory",
		Version:          version,
		ShortDescription: shortDescriptions[name],
		URL:              "https://github.com/docker-cghistory/docker-cghistory",
	})
}

// commandName maps the binary's name (docker runs the plugin file by its
// own name, symlinks unresolved) to its command; anything unknown is
// cghistory. The full binary does the same.
func commandName(argv0 string) string {
	base := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	n := strings.TrimPrefix(base, metadata.NamePrefix)
	if _, ok := shortDescriptions[n]; ok {
		return n
	}
	return historyName
}
