// Package ref owns image references: what users type on the command line
// (bare names expanded under a namespace, IMAGE~N), what files say
// ("python:3.12@sha256:…"), registry hostnames and Docker Hub's aliases.
// Every other package takes references apart through it.
package ref

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DefaultNamespace is where bare image names ("python") live.
const DefaultNamespace = "cgr.dev/chainguard"

// DockerHub is Docker Hub's canonical registry host; DockerHubAliases are
// every name it goes by, the canonical one first.
const DockerHub = name.DefaultRegistry

// DockerHubAliases lists the hostnames that mean Docker Hub, canonical first.
var DockerHubAliases = []string{DockerHub, "docker.io", "registry-1.docker.io"}

// DockerHubAuthKey is the key docker keeps Docker Hub credentials under in
// config.json.
const DockerHubAuthKey = "https://index.docker.io/v1/"

// Hostname normalises a registry URL or host as docker does: scheme and
// path dropped, lower-cased, every Docker Hub alias mapped to DockerHub
// ("https://index.docker.io/v1/" → "index.docker.io").
func Hostname(s string) string {
	h := strings.ToLower(strings.TrimSpace(s))
	h = strings.TrimPrefix(strings.TrimPrefix(h, "https://"), "http://")
	h, _, _ = strings.Cut(h, "/")
	if IsDockerHub(h) {
		return DockerHub
	}
	return h
}

// IsDockerHub reports whether host is one of Docker Hub's names.
func IsDockerHub(host string) bool {
	for _, a := range DockerHubAliases {
		if strings.EqualFold(host, a) {
			return true
		}
	}
	return false
}

// AuthKey is the config.json key docker stores host's credentials under.
func AuthKey(host string) string {
	if IsDockerHub(host) {
		return DockerHubAuthKey
	}
	return host
}

// Expand turns what a user typed into a full reference string: a bare name
// such as "python" or "python:3.12" is prefixed with namespace (default
// DefaultNamespace); anything with a "/" is returned as written.
func Expand(image, namespace string) string {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	if strings.Contains(image, "/") {
		return image
	}
	return strings.TrimSuffix(namespace, "/") + "/" + image
}

// Options say how command-line references are read.
type Options struct {
	// Namespace expands bare names (default DefaultNamespace).
	Namespace string
	// Insecure allows plain HTTP for any registry.
	Insecure bool
}

func (o Options) name() []name.Option {
	if o.Insecure {
		return []name.Option{name.WeakValidation, name.Insecure}
	}
	return []name.Option{name.WeakValidation}
}

// Parse expands image and parses it; a missing tag means "latest".
func (o Options) Parse(image string) (name.Reference, error) {
	r, err := name.ParseReference(Expand(image, o.Namespace), o.name()...)
	if err != nil {
		return nil, fmt.Errorf("invalid image reference %q: %w", image, err)
	}
	return r, nil
}

// Repository expands and parses a repository name; a ":tag" or "@digest"
// the user typed after it is dropped.
func (o Options) Repository(image string) (name.Repository, error) {
	base := image
	if i := strings.LastIndex(base, "@"); i >= 0 {
		base = base[:i]
	}
	if i := strings.LastIndex(base, ":"); i > strings.LastIndex(base, "/") {
		base = base[:i]
	}
	repo, err := name.NewRepository(Expand(base, o.Namespace), o.name()...)
	if err != nil {
		return name.Repository{}, fmt.Errorf("invalid repository %q: %w", image, err)
	}
	return repo, nil
}

// Registry parses a registry host ("cgr.dev", "https://index.docker.io/v1/").
func (o Options) Registry(s string) (name.Registry, error) {
	reg, err := name.NewRegistry(Hostname(s), o.name()...)
	if err != nil {
		return name.Registry{}, fmt.Errorf("invalid registry %q: %w", s, err)
	}
	return reg, nil
}

// IsRegistry tells "cgr.dev" or "127.0.0.1:5000" (a registry) from
// "python" or "cgr.dev/chainguard/python" (an image).
func IsRegistry(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	s = strings.TrimSuffix(s, "/")
	if strings.Contains(s, "/") {
		return false
	}
	host, _, _ := strings.Cut(s, ":") // "python:3.12" is an image with a tag
	return strings.Contains(host, ".") || host == "localhost"
}

// Relative splits "IMAGE~N" into IMAGE and N (0 without a suffix).
func Relative(s string) (string, int, error) {
	i := strings.LastIndex(s, "~")
	if i < 0 {
		return s, 0, nil
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil || n < 0 {
		return "", 0, fmt.Errorf("%q: ~N must be a non-negative number of builds back", s)
	}
	return s[:i], n, nil
}

// Image is an image reference as written in a file, taken apart:
// "cgr.dev/chainguard/go:1.23@sha256:…" is repository, tag and digest.
// Names are never expanded (a file means what docker reads in it).
type Image struct {
	// Name is the reference as written, without its digest ("python:3.12").
	Name string
	Repo name.Repository
	// Tag is the tag as written, "" when none was.
	Tag string
	// Digest is the pinned digest, zero when none was written.
	Digest v1.Hash
}

// DockerScheme may come before an image reference where GitHub Actions'
// runner reads one ("docker://node:24" is node:24); it is no part of the
// reference.
const DockerScheme = "docker://"

// CutDockerScheme returns text without a leading DockerScheme, and whether
// it had one.
func CutDockerScheme(text string) (string, bool) { return strings.CutPrefix(text, DockerScheme) }

// ParseImage takes apart a reference as written in a file. A URL scheme
// ("docker://node:24") is an error, not a registry named "docker:": the
// finder of a format that allows one cuts it first (CutDockerScheme).
func ParseImage(text string) (Image, error) {
	if strings.Contains(text, "://") {
		return Image{}, fmt.Errorf("invalid image reference %q: a URL scheme is no part of an image reference", text)
	}
	base, digest, pinned := strings.Cut(text, "@")
	img := Image{Name: base}
	if pinned {
		h, err := v1.NewHash(digest)
		if err != nil {
			return Image{}, fmt.Errorf("invalid digest %q: %w", digest, err)
		}
		img.Digest = h
	}
	tagged := strings.LastIndex(base, ":") > strings.LastIndex(base, "/")
	r, err := name.ParseReference(base, name.WeakValidation)
	if err != nil {
		return Image{}, fmt.Errorf("invalid image reference %q: %w", text, err)
	}
	img.Repo = r.Context()
	if t, ok := r.(name.Tag); ok && tagged {
		img.Tag = t.TagStr()
	}
	return img, nil
}

// Pinned reports whether a digest was written.
func (i Image) Pinned() bool { return i.Digest != (v1.Hash{}) }

// Tagged returns the tag to follow: the tag written, else "latest".
func (i Image) Tagged() name.Tag {
	t := i.Tag
	if t == "" {
		t = "latest"
	}
	return i.Repo.Tag(t)
}

// At is the image at digest d in the same repository.
func (i Image) At(d v1.Hash) name.Digest { return i.Repo.Digest(d.String()) }

// Pin is the pinned form of what was written: the name as written, then
// "@" and d ("python:3.12" → "python:3.12@sha256:…").
func (i Image) Pin(d v1.Hash) string { return i.Name + "@" + d.String() }

// Tag expands and parses image as a tag to follow ("latest" when none is
// given); a reference by digest is an error, since it names one build.
func (o Options) Tag(image string) (name.Tag, error) {
	r, err := o.Parse(image)
	if err != nil {
		return name.Tag{}, err
	}
	t, ok := r.(name.Tag)
	if !ok {
		return name.Tag{}, fmt.Errorf("%s names a digest; history follows a tag, e.g. %s:latest", image, r.Context())
	}
	return t, nil
}

// Target reads what `auth` checks: a registry ("cgr.dev", with a nil
// reference), or an image (its registry and the reference).
func (o Options) Target(s string) (name.Registry, name.Reference, error) {
	if IsRegistry(s) {
		reg, err := o.Registry(s)
		return reg, nil, err
	}
	r, err := o.Parse(s)
	if err != nil {
		return name.Registry{}, nil, err
	}
	return r.Context().Registry, r, nil
}
