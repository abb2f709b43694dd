// Package registry talks to OCI registries for every command: it expands
// image references, finds the user's Docker credentials, exchanges them for
// registry tokens (cached in memory and on disk), and provides one HTTP
// client per run with retries, timeouts and redacted debug logging.
package registry

import (
	"fmt"
	"strings"

	"github.com/docker/cli/cli/config/credentials"
	"github.com/google/go-containerregistry/pkg/name"
)

// DefaultNamespace is where bare image names ("python") live.
const DefaultNamespace = "cgr.dev/chainguard"

// Expand turns what a user typed into a full reference string: a bare name
// such as "python" or "python:3.12" is prefixed with namespace; anything with
// a registry host or a "/" is returned as written.
func Expand(image, namespace string) string {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	if strings.Contains(image, "/") {
		return image
	}
	return strings.TrimSuffix(namespace, "/") + "/" + image
}

// ParseReference expands image (see Expand) and parses it; a missing tag
// means "latest". insecure allows plain HTTP for any registry (loopback
// registries always may use it, as docker allows).
func ParseReference(image, namespace string, insecure bool) (name.Reference, error) {
	ref, err := name.ParseReference(Expand(image, namespace), nameOptions(insecure)...)
	if err != nil {
		return nil, fmt.Errorf("invalid image reference %q: %w", image, err)
	}
	return ref, nil
}

// ParseRepository expands and parses a repository name, rejecting a tag or digest.
func ParseRepository(image, namespace string, insecure bool) (name.Repository, error) {
	repo, err := name.NewRepository(Expand(image, namespace), nameOptions(insecure)...)
	if err != nil {
		return name.Repository{}, fmt.Errorf("invalid repository %q: %w", image, err)
	}
	return repo, nil
}

// ParseRegistry parses a registry host ("cgr.dev", "https://index.docker.io/v1/").
func ParseRegistry(s string, insecure bool) (name.Registry, error) {
	reg, err := name.NewRegistry(Hostname(s), nameOptions(insecure)...)
	if err != nil {
		return name.Registry{}, fmt.Errorf("invalid registry %q: %w", s, err)
	}
	return reg, nil
}

// Hostname normalises a registry URL or host as docker does
// ("https://index.docker.io/v1/" → "index.docker.io").
func Hostname(s string) string {
	h := strings.ToLower(credentials.ConvertToHostname(strings.TrimSpace(s)))
	if h == "docker.io" || h == "registry-1.docker.io" {
		return name.DefaultRegistry
	}
	return h
}

func nameOptions(insecure bool) []name.Option {
	if insecure {
		return []name.Option{name.WeakValidation, name.Insecure}
	}
	return []name.Option{name.WeakValidation}
}
