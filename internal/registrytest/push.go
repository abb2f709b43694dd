package registrytest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Image is a pushed image: its top-level digest and, per platform, the
// platform image's manifest digest and size (config + layers).
type Image struct {
	Digest    v1.Hash
	Platforms []PlatformImage
}

// PlatformImage is one platform's image inside a pushed index.
type PlatformImage struct {
	Platform v1.Platform
	Digest   v1.Hash
	Size     int64
}

// Push pushes a synthetic image to repo:tag at time at (the history entry's
// timestamp). With two or more platforms ("linux/amd64", "linux/arm64") it
// pushes an OCI index; with one, a single image for that platform.
func (s *Server) Push(tb testing.TB, repo, tag string, at time.Time, platforms ...string) Image {
	tb.Helper()
	img, err := s.push(repo, tag, at, platforms)
	if err != nil {
		tb.Fatalf("registrytest: push %s:%s: %v", repo, tag, err)
	}
	return img
}

func (s *Server) push(repo, tag string, at time.Time, platforms []string) (Image, error) {
	if len(platforms) == 0 {
		platforms = []string{"linux/amd64", "linux/arm64"}
	}
	ref, err := name.ParseReference(s.Host + "/" + repo + ":" + tag)
	if err != nil {
		return Image{}, err
	}
	s.mu.Lock()
	prev := s.now
	s.now = func() time.Time { return at }
	s.mu.Unlock()
	defer func() { s.mu.Lock(); s.now = prev; s.mu.Unlock() }()

	var out Image
	var idx v1.ImageIndex = empty.Index
	idx = mutate.IndexMediaType(idx, types.OCIImageIndex)
	for _, p := range platforms {
		plat, err := v1.ParsePlatform(p)
		if err != nil {
			return Image{}, err
		}
		img, err := random.Image(256, 2)
		if err != nil {
			return Image{}, err
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return Image{}, err
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture, cf.Variant = plat.OS, plat.Architecture, plat.Variant
		cf.Created = v1.Time{Time: at}
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			return Image{}, err
		}
		d, err := img.Digest()
		if err != nil {
			return Image{}, err
		}
		size, err := imageSize(img)
		if err != nil {
			return Image{}, err
		}
		out.Platforms = append(out.Platforms, PlatformImage{Platform: *plat, Digest: d, Size: size})
		if len(platforms) == 1 {
			if err := s.store(ref, img); err != nil {
				return Image{}, err
			}
			out.Digest = d
			return out, nil
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: plat}})
	}
	if err := s.storeIndex(ref, idx); err != nil {
		return Image{}, err
	}
	if out.Digest, err = idx.Digest(); err != nil {
		return Image{}, err
	}
	return out, nil
}

// imageSize is the compressed size of an image: config plus layers.
func imageSize(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	n := m.Config.Size
	for _, l := range m.Layers {
		n += l.Size
	}
	return n, nil
}

// Ref returns "HOST/repo" + suffix, e.g. s.Ref("chainguard/nginx", ":latest").
func (s *Server) Ref(repo, suffix string) string {
	if suffix != "" && !strings.HasPrefix(suffix, ":") && !strings.HasPrefix(suffix, "@") {
		suffix = ":" + suffix
	}
	return fmt.Sprintf("%s/%s%s", s.Host, repo, suffix)
}
