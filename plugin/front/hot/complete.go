package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/docker-cghistory/docker-cghistory/internal/history/cached"
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
)

// maxConfig bounds the docker config read for the namespace; a larger one
// is left to the full binary.
const maxConfig = 1 << 20

// completeBuilds answers `__complete cghistory|cgdiff IMAGE~…` or
// `IMAGE@…` (past builds, the first argument) from the cached history, as
// the full binary's cobra completion prints it, and reports whether it
// did. Anything else — flags, other arguments, nothing cached, an unusual
// name or config — is the full binary's to answer (it may ask the
// registry), so the answer is never different, only faster.
func completeBuilds(stdout, stderr io.Writer, args []string) bool {
	if len(args) != 4 || args[1] != "__complete" || (args[2] != "cghistory" && args[2] != "cgdiff") ||
		!strings.HasSuffix(strings.TrimSuffix(filepath.Base(args[0]), ".exe"), "-"+args[2]) {
		return false
	}
	typed := args[3]
	if strings.Count(typed, "~")+strings.Count(typed, "@") != 1 {
		return false
	}
	sep := strings.IndexAny(typed, "~@")
	base := typed[:sep]
	if !plain(base) {
		return false
	}
	ns, ok := namespace()
	if !ok {
		return false
	}
	tag, err := ref.Options{Namespace: ns}.Tag(base)
	if err != nil {
		return false
	}
	entries, ok := cached.History(cache.New(cache.DefaultDir(), 0), tag)
	if !ok {
		return false
	}
	var b strings.Builder
	for i, e := range entries {
		v := base + "@" + e.Digest.String()
		if typed[sep] == '~' {
			v = base + "~" + strconv.Itoa(i)
		}
		if strings.HasPrefix(v, typed) {
			fmt.Fprintf(&b, "%s\t%s\n", v, e.UpdatedAt.UTC().Format(time.RFC3339))
		}
	}
	b.WriteString(":4\n") // cobra.ShellCompDirectiveNoFileComp
	_, _ = io.WriteString(stdout, b.String())
	fmt.Fprintln(stderr, "Completion ended with directive: ShellCompDirectiveNoFileComp")
	return true
}

// plain says s is made of what image names are made of, nothing the full
// binary would escape or leave out.
func plain(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/:", r)) {
			return false
		}
	}
	return true
}

// namespace is the full binary's: CGHISTORY_NAMESPACE, else the docker
// config's plugins.cghistory.namespace (DOCKER_CONFIG, else ~/.docker, as
// docker/cli finds it); ok is false when that cannot be read for sure.
func namespace() (string, bool) {
	if v := os.Getenv("CGHISTORY_NAMESPACE"); v != "" {
		return v, true
	}
	dir := os.Getenv("DOCKER_CONFIG")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", false
		}
		dir = filepath.Join(home, ".docker")
	}
	f, err := os.Open(filepath.Join(dir, "config.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", true
	}
	if err != nil {
		return "", false
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, maxConfig+1))
	if err != nil || len(src) > maxConfig {
		return "", false
	}
	var cfg struct {
		Plugins map[string]map[string]string `json:"plugins"`
	}
	if err := json.Unmarshal(src, &cfg); err != nil {
		return "", false
	}
	return cfg.Plugins["cghistory"]["namespace"], true
}
