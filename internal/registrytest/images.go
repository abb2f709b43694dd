package registrytest

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Layer is the files of one image layer, path → content; a path ending in
// a ".wh.NAME" base name is an OCI whiteout.
type Layer map[string]string

// PushLayers pushes a single-platform image built from layers (bottom
// first) to repo:tag at time at, and returns its digest.
func (s *Server) PushLayers(tb testing.TB, repo, tag string, at time.Time, platform string, layers ...Layer) v1.Hash {
	tb.Helper()
	return s.pushLayers(tb, repo, tag, at, platform, compression.GZip, layers)
}

// PushZstdLayers is PushLayers with every layer compressed with zstd (media
// type application/vnd.oci.image.layer.v1.tar+zstd) in an OCI manifest.
func (s *Server) PushZstdLayers(tb testing.TB, repo, tag string, at time.Time, platform string, layers ...Layer) v1.Hash {
	tb.Helper()
	return s.pushLayers(tb, repo, tag, at, platform, compression.ZStd, layers)
}

// pushLayers builds and pushes the image of PushLayers with layers
// compressed by comp: gzip gives a Docker schema 2 image, zstd an OCI one.
func (s *Server) pushLayers(tb testing.TB, repo, tag string, at time.Time, platform string, comp compression.Compression, layers []Layer) v1.Hash {
	tb.Helper()
	plat, err := v1.ParsePlatform(platform)
	if err != nil {
		tb.Fatal(err)
	}
	img := empty.Image
	var layerOpts []tarball.LayerOption
	switch comp {
	case compression.GZip:
	case compression.ZStd:
		img = mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
		layerOpts = []tarball.LayerOption{tarball.WithCompression(compression.ZStd), tarball.WithMediaType(types.OCILayerZStd)}
	default:
		tb.Fatalf("registrytest: unsupported layer compression %q", comp)
	}
	for _, files := range layers {
		l, err := tarLayer(files, comp, layerOpts...)
		if err != nil {
			tb.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			tb.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		tb.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = plat.OS, plat.Architecture, plat.Variant
	cf.Created = v1.Time{Time: at}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		tb.Fatal(err)
	}
	ref, err := name.ParseReference(s.Ref(repo, tag))
	if err != nil {
		tb.Fatal(err)
	}
	s.mu.Lock()
	prev := s.now
	s.now = func() time.Time { return at }
	s.mu.Unlock()
	defer func() { s.mu.Lock(); s.now = prev; s.mu.Unlock() }()
	if err := s.store(ref, img); err != nil {
		tb.Fatalf("registrytest: push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func (s *Server) pushOptions() []remote.Option {
	return []remote.Option{
		remote.WithAuth(&authn.Basic{Username: AdminUser, Password: AdminPassword}),
		remote.WithTransport(s.Transport()),
	}
}

// tarLayer builds a layer from files with deterministic tar bytes; opts
// choose its compression comp (gzip by default) and media type. The layer
// is compressed once: compress/flate runs race-instrumented in the tests,
// where compressing a package database costs tens of milliseconds, so a
// layer of up to keptTar bytes is kept for the process (layers are
// immutable: the same tar and compression give the same bytes), and a
// layer compresses once, not once for its digest and again for the push
// (WithCompressedCaching).
func tarLayer(files Layer, comp compression.Compression, opts ...tarball.LayerOption) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, path := range slices.Sorted(maps.Keys(files)) { // deterministic: same files, same digest
		content := files[path]
		if err := tw.WriteHeader(&tar.Header{Name: path, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	build := func() (v1.Layer, error) {
		return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
			append(opts, tarball.WithCompressedCaching)...)
	}
	if len(data) > keptTar {
		return build()
	}
	key := layerKey{comp, sha256.Sum256(data)}
	tarLayers.Lock()
	defer tarLayers.Unlock()
	if l, ok := tarLayers.m[key]; ok {
		return l, nil
	}
	l, err := build()
	if err != nil {
		return nil, err
	}
	if tarLayers.m == nil {
		tarLayers.m = map[layerKey]v1.Layer{}
	}
	tarLayers.m[key] = l
	return l, nil
}

// keptTar bounds the layers tarLayer keeps: the large ones are the
// hostile tests' own, each pushed once.
const keptTar = 1 << 20

// tarLayers holds tarLayer's layers by their compression and the SHA-256
// of their tar.
var tarLayers struct {
	sync.Mutex
	m map[layerKey]v1.Layer
}

type layerKey struct {
	comp compression.Compression
	tar  [sha256.Size]byte
}

// AttachSBOMReferrer attaches an SPDX SBOM through the OCI referrers API (a
// manifest whose subject is the image), as newer cosign versions do.
func (s *Server) AttachSBOMReferrer(tb testing.TB, repo string, digest v1.Hash, spdx []byte) {
	tb.Helper()
	img := s.attestationImage(tb, repo, digest, spdx)
	s.writeReferrer(tb, repo, digest, mutate.ConfigMediaType(img, "application/vnd.in-toto+json"))
}

// writeReferrer pushes img with subject (image d of repo), by digest, as
// the OCI referrers API finds it (artifactType from its config media type).
func (s *Server) writeReferrer(tb testing.TB, repo string, d v1.Hash, img v1.Image) {
	tb.Helper()
	withSubject, ok := mutate.Subject(img, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: d, Size: 1}).(v1.Image)
	if !ok {
		tb.Fatal("registrytest: subject")
	}
	sd, err := withSubject.Digest()
	if err != nil {
		tb.Fatal(err)
	}
	ref, err := name.ParseReference(s.Ref(repo, "@"+sd.String()))
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.Write(ref, withSubject, s.pushOptions()...); err != nil {
		tb.Fatalf("registrytest: attach referrer: %v", err)
	}
}

// AttachSBOM attaches an SPDX SBOM to the image digest as cosign does: an
// image at tag "sha256-<hex>.att" whose layer is a DSSE envelope holding an
// in-toto statement with the SBOM as predicate.
func (s *Server) AttachSBOM(tb testing.TB, repo string, digest v1.Hash, spdx []byte) {
	tb.Helper()
	img := s.attestationImage(tb, repo, digest, spdx)
	ref, err := name.ParseReference(s.Ref(repo, fmt.Sprintf("sha256-%s.att", digest.Hex)))
	if err != nil {
		tb.Fatal(err)
	}
	// Stored, not pushed over HTTP: distribution's in-memory driver copies
	// the whole blob for every chunk of an upload, which for a 12 MiB SBOM
	// under -race took a minute.
	if err := s.store(ref, img); err != nil {
		tb.Fatalf("registrytest: attach SBOM: %v", err)
	}
}

// attestationImage wraps an SPDX SBOM in an in-toto statement in a DSSE
// envelope, as the single layer of an image.
func (s *Server) attestationImage(tb testing.TB, repo string, digest v1.Hash, spdx []byte) v1.Image {
	tb.Helper()
	st := s.statement(tb, repo, digest, spdx)
	env, err := json.Marshal(map[string]any{
		"payloadType": "application/vnd.in-toto+json",
		"payload":     base64.StdEncoding.EncodeToString(st),
		"signatures":  []map[string]string{{"keyid": "", "sig": "c2ln"}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	layer := static.NewLayer(env, "application/vnd.dsse.envelope.v1+json")
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer:       layer,
		Annotations: map[string]string{"predicateType": "https://spdx.dev/Document"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return mutate.ConfigMediaType(img, types.OCIConfigJSON)
}

// Mirror copies the image with digest d from src's srcRepo into this
// registry's dstRepo, byte for byte (same digests), and points tag at it
// unless tag is "": a pull-through cache that has fetched that build.
func (s *Server) Mirror(tb testing.TB, src *Server, srcRepo string, d v1.Hash, dstRepo, tag string) {
	tb.Helper()
	from, err := name.NewDigest(src.Ref(srcRepo, "@"+d.String()))
	if err != nil {
		tb.Fatal(err)
	}
	desc, err := remote.Get(from, src.pushOptions()...)
	if err != nil {
		tb.Fatalf("registrytest: mirror %s: %v", from, err)
	}
	to, err := name.NewDigest(s.Ref(dstRepo, "@"+d.String()))
	if err != nil {
		tb.Fatal(err)
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err == nil {
			err = remote.WriteIndex(to, idx, s.pushOptions()...)
		}
		if err != nil {
			tb.Fatalf("registrytest: mirror %s: %v", from, err)
		}
	} else {
		img, err := desc.Image()
		if err == nil {
			err = remote.Write(to, img, s.pushOptions()...)
		}
		if err != nil {
			tb.Fatalf("registrytest: mirror %s: %v", from, err)
		}
	}
	if tag == "" {
		return
	}
	t, err := name.NewTag(s.Ref(dstRepo, tag))
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.Tag(t, desc, s.pushOptions()...); err != nil {
		tb.Fatalf("registrytest: mirror tag %s: %v", t, err)
	}
}

// statement is an in-toto statement with an SPDX SBOM about image d of repo.
func (s *Server) statement(tb testing.TB, repo string, d v1.Hash, spdx []byte) []byte {
	tb.Helper()
	st, err := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v0.1",
		"predicateType": "https://spdx.dev/Document",
		"subject":       []map[string]any{{"name": s.Ref(repo, ""), "digest": map[string]string{"sha256": d.Hex}}},
		"predicate":     json.RawMessage(spdx),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return st
}
