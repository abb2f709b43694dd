package dockerfile

import (
	"context"
	"path"
	"slices"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
)

// Finder reads Dockerfiles (Refs) as a ref.Finder.
var Finder ref.Finder = finder{}

type finder struct{}

func (finder) FileKind() ref.FileKind { return ref.Dockerfile }

func (finder) Find(_ context.Context, _ string, src []byte) ([]ref.Found, []ref.Skipped, error) {
	return Refs(src)
}

// IsName reports whether a file name looks like a Dockerfile:
// Dockerfile, Dockerfile.*, *.Dockerfile, *.dockerfile, Containerfile(.*),
// with their case as written ("dockerfile.go" is Go), and not the usual
// companions of a Dockerfile (Dockerfile.md, Dockerfile.dockerignore, …).
func IsName(base string) bool {
	switch {
	case base == "Dockerfile" || base == "Containerfile":
		return true
	case strings.HasSuffix(base, ".Dockerfile") || strings.HasSuffix(base, ".dockerfile"):
		return true
	case strings.HasPrefix(base, "Dockerfile.") || strings.HasPrefix(base, "Containerfile."):
		ext := strings.ToLower(path.Ext(base))
		return !slices.Contains(notDockerfiles, ext)
	}
	return false
}

// notDockerfiles are extensions of files named like Dockerfile.* that are not.
var notDockerfiles = []string{".md", ".txt", ".dockerignore", ".go", ".json", ".yaml", ".yml", ".orig", ".rej", ".bak", ".swp", ".sh", ".lock"}
