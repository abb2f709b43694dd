package pin

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// IsDockerfileName reports whether a file name looks like a Dockerfile:
// Dockerfile, Dockerfile.*, *.Dockerfile, *.dockerfile, Containerfile(.*),
// with their case as written ("dockerfile.go" is Go), and not the usual
// companions of a Dockerfile (Dockerfile.md, Dockerfile.dockerignore, …).
func IsDockerfileName(base string) bool {
	switch {
	case base == "Dockerfile" || base == "Containerfile":
		return true
	case strings.HasSuffix(base, ".Dockerfile") || strings.HasSuffix(base, ".dockerfile"):
		return true
	case strings.HasPrefix(base, "Dockerfile.") || strings.HasPrefix(base, "Containerfile."):
		ext := strings.ToLower(filepath.Ext(base))
		return !slices.Contains(notDockerfiles, ext)
	}
	return false
}

// notDockerfiles are extensions of files named like Dockerfile.* that are not.
var notDockerfiles = []string{".md", ".txt", ".dockerignore", ".go", ".json", ".yaml", ".yml", ".orig", ".rej", ".bak", ".swp", ".sh", ".lock"}

// skipDir names directories never walked: VCS data and vendored code.
func skipDir(name string) bool {
	return strings.HasPrefix(name, ".") || name == "vendor" || name == "node_modules" || name == "third_party"
}

// Collect expands paths (files or directories; default ./Dockerfile) into
// the Dockerfiles to pin, skipping hidden and vendored directories and
// anything matching an exclude glob (matched against the path relative to
// the walked directory and against the base name).
func Collect(paths, exclude []string) ([]string, error) {
	if len(paths) == 0 {
		paths = []string{"Dockerfile"}
	}
	for _, g := range exclude {
		if _, err := filepath.Match(g, ""); err != nil {
			return nil, fmt.Errorf("--exclude %q: %w", g, err)
		}
	}
	excluded := func(rel, base string) bool {
		for _, g := range exclude {
			if m, _ := filepath.Match(g, rel); m {
				return true
			}
			if m, _ := filepath.Match(g, base); m {
				return true
			}
		}
		return false
	}
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, root := range paths {
		fi, err := os.Stat(root)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", root, unwrapPathError(err))
		}
		if !fi.IsDir() {
			add(root) // named explicitly: pinned whatever its name
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("%s: %w", p, unwrapPathError(err))
			}
			rel, _ := filepath.Rel(root, p)
			if d.IsDir() {
				if p != root && (skipDir(d.Name()) || excluded(rel, d.Name())) {
					return filepath.SkipDir
				}
				return nil
			}
			if IsDockerfileName(d.Name()) && !excluded(rel, d.Name()) {
				add(p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
