package registrytest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
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
		img, err := randomImage(256, 2)
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

// randomImage is an image of layers layers, each a gzip tar of one file of
// n random bytes, as go-containerregistry's random.Image makes. Its layers
// are compressed once, by a pooled gzip.Writer: random.Image's layers
// compress again every time they are read (for their digest, then for the
// push), and each compression allocates a new compressor of about 800 KiB,
// which costs a millisecond and more apiece under -race.
func randomImage(n, layers int) (v1.Image, error) {
	adds := make([]mutate.Addendum, 0, layers)
	for i := range layers {
		l, err := randomLayer(n)
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.Addendum{Layer: l, History: v1.History{
			Author: "registrytest", CreatedBy: fmt.Sprintf("random layer %d of %d", i+1, layers)}})
	}
	return mutate.Append(empty.Image, adds...)
}

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed) // BestSpeed is a valid level: no error
	return w
}}

func randomLayer(n int) (v1.Layer, error) {
	content := make([]byte, n)
	if _, err := rand.Read(content); err != nil {
		return nil, err
	}
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	if err := tw.WriteHeader(&tar.Header{Name: "random", Size: int64(n), Mode: 0o644, Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(content); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	var gz bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&gz)
	if _, err := zw.Write(tb.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return partial.CompressedToLayer(&gzipLayer{gz: gz.Bytes(), diffID: sha256Hash(tb.Bytes()), digest: sha256Hash(gz.Bytes())})
}

// gzipLayer is a gzip layer held compressed, with its digest and diffID.
type gzipLayer struct {
	gz             []byte
	diffID, digest v1.Hash
}

func (l *gzipLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *gzipLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *gzipLayer) Size() (int64, error)                { return int64(len(l.gz)), nil }
func (l *gzipLayer) MediaType() (types.MediaType, error) { return types.DockerLayer, nil }
func (l *gzipLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.gz)), nil
}

func sha256Hash(b []byte) v1.Hash {
	sum := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sum)}
}
