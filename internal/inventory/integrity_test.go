package inventory_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/docker-cghistory/docker-cghistory/internal/inventory"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	"github.com/google/go-containerregistry/pkg/name"
	"gotest.tools/v3/assert"
)

// fetcherIn is a fetcher on a cache in dir, with blobs read whole bounded
// by maxBlob (0: the default).
func fetcherIn(dir string, maxBlob int64) *inventory.Fetcher {
	dc := cache.New(dir, 0)
	c := registry.New(registry.Options{Cache: dc, Transport: registrytest.LoopbackTransport(), MaxBlobSize: maxBlob})
	return &inventory.Fetcher{Registry: c, Cache: dc}
}

func TestZstdLayers(t *testing.T) {
	s := registrytest.New(t)
	pkgs := []apkPkg{{"glibc", "2.40-r3", "glibc"}, {"libssl3", "3.4.0-r1", "openssl"}}
	d := s.PushZstdLayers(t, "chainguard/app", "latest", t0, "linux/amd64",
		registrytest.Layer{"usr/bin/app": "binary"},
		registrytest.Layer{"etc/os-release": osRelease, "lib/apk/db/installed": apkDB(pkgs...)})
	repo, _ := name.NewRepository(s.Host + "/chainguard/app")
	inv, err := fetcher(t).Fetch(context.Background(), repo, d, inventory.SourceLayers)
	assert.NilError(t, err)
	assert.Equal(t, summary(inv), "apk/wolfi/glibc=2.40-r3(glibc) apk/wolfi/libssl3=3.4.0-r1(openssl)")
}

// A layer whose bytes do not match its digest is an integrity error naming
// the digest, whatever the decompressor makes of it, and nothing is cached.
func TestCorruptLayerIsAnIntegrityError(t *testing.T) {
	for _, zstd := range []bool{false, true} {
		s := registrytest.New(t)
		push := s.PushLayers
		if zstd {
			push = s.PushZstdLayers
		}
		d := push(t, "chainguard/app", "latest", t0, "linux/amd64",
			registrytest.Layer{"etc/os-release": osRelease, "lib/apk/db/installed": apkDB(apkPkg{"glibc", "2.40-r3", "glibc"})})
		dir := t.TempDir()
		f := fetcherIn(dir, 0)
		repo, _ := name.NewRepository(s.Host + "/chainguard/app")
		m, err := f.Registry.ImageManifest(context.Background(), repo, d)
		assert.NilError(t, err)
		layer := m.Layers[0].Digest
		s.CorruptBlob(layer)
		_, err = f.Fetch(context.Background(), repo, d, inventory.SourceLayers)
		assert.Assert(t, errors.Is(err, registry.ErrIntegrity), "zstd=%v: %v", zstd, err)
		assert.ErrorContains(t, err, "blob "+layer.String()+" from "+s.Host+"/chainguard/app does not match its digest")
		for _, kind := range []string{"inventories", "blobs"} {
			entries, _ := os.ReadDir(filepath.Join(dir, kind))
			for _, e := range entries {
				assert.Assert(t, kind != "inventories" && !strings.Contains(e.Name(), layer.Hex), "cached %s/%s", kind, e.Name())
			}
		}
	}
}

// bigSPDX is an SPDX document of about size bytes naming pkgs.
func bigSPDX(t *testing.T, size int, pkgs ...apkPkg) []byte {
	doc := spdxFor(pkgs...)
	pad := `{"comment":"` + strings.Repeat("x", size) + `",`
	return append([]byte(pad), doc[1:]...)
}

// TestLargeSBOMs reads a multi-MiB attestation within the bound and refuses
// one over it. `make test-long` (CGHISTORY_TEST_LONG=1) runs it at the real
// size of a large Chainguard SBOM, 12 MiB against an 8 MiB bound; make test
// proves the same at 512 KiB against 256 KiB, since JSON under -race is slow.
func TestLargeSBOMs(t *testing.T) {
	size, bound, limit := 512<<10, int64(256<<10), "over the 256KiB limit"
	if os.Getenv("CGHISTORY_TEST_LONG") != "" {
		size, bound, limit = 12<<20, 8<<20, "over the 8MiB limit"
	}
	s := registrytest.New(t)
	pkgs := []apkPkg{{"glibc", "2.40-r3", "glibc"}}
	d := s.PushLayers(t, "chainguard/app", "latest", t0, "linux/amd64",
		registrytest.Layer{"etc/os-release": osRelease, "lib/apk/db/installed": apkDB(apkPkg{"glibc", "2.40-r3", "glibc"}, apkPkg{"busybox", "1.36-r0", "busybox"})})
	s.AttachSBOM(t, "chainguard/app", d, bigSPDX(t, size, pkgs...))
	repo, _ := name.NewRepository(s.Host + "/chainguard/app")

	// A large attestation within the default bound is the source.
	inv, err := fetcherIn(t.TempDir(), 0).Fetch(context.Background(), repo, d, inventory.SourceAuto)
	assert.NilError(t, err)
	assert.Equal(t, inv.Source, "sbom")
	assert.Equal(t, summary(inv), "apk/wolfi/glibc=2.40-r3(glibc)")

	// Over the bound: a clear error for --source sbom, the layers for auto.
	_, err = fetcherIn(t.TempDir(), bound).Fetch(context.Background(), repo, d, inventory.SourceSBOM)
	assert.Assert(t, errors.Is(err, registry.ErrTooLarge), "%v", err)
	assert.ErrorContains(t, err, "is too large")
	assert.ErrorContains(t, err, limit)
	inv, err = fetcherIn(t.TempDir(), bound).Fetch(context.Background(), repo, d, inventory.SourceAuto)
	assert.NilError(t, err)
	assert.Equal(t, inv.Source, "layers")
	assert.Equal(t, len(inv.Packages), 2)
}

// A cached blob that was corrupted on disk is refetched, never used.
func TestCorruptCacheEntryIsRefetched(t *testing.T) {
	s := registrytest.New(t)
	pkgs := []apkPkg{{"glibc", "2.40-r3", "glibc"}}
	d := s.PushLayers(t, "chainguard/app", "latest", t0, "linux/amd64",
		registrytest.Layer{"etc/os-release": osRelease, "lib/apk/db/installed": apkDB(pkgs...)})
	s.AttachSBOM(t, "chainguard/app", d, spdxFor(pkgs...))
	repo, _ := name.NewRepository(s.Host + "/chainguard/app")
	dir := t.TempDir()
	_, err := fetcherIn(dir, 0).Fetch(context.Background(), repo, d, inventory.SourceSBOM)
	assert.NilError(t, err)
	// Damage every cached blob (the attestation) and drop the inventory:
	// the next run must fetch it again and agree.
	blobs, _ := filepath.Glob(filepath.Join(dir, "blobs", "*"))
	assert.Assert(t, len(blobs) >= 1, "blobs cached: %v", blobs)
	for _, b := range blobs {
		assert.NilError(t, os.WriteFile(b, []byte(`{"tampered":true}`), 0o600))
	}
	assert.NilError(t, os.RemoveAll(filepath.Join(dir, "inventories")))
	s.ResetCounts()
	inv, err := fetcherIn(dir, 0).Fetch(context.Background(), repo, d, inventory.SourceSBOM)
	assert.NilError(t, err)
	assert.Equal(t, summary(inv), "apk/wolfi/glibc=2.40-r3(glibc)")
	assert.Equal(t, s.Counts().Blob, len(blobs), "%+v", s.Counts())
	for _, b := range blobs {
		got, err := os.ReadFile(b)
		assert.NilError(t, err)
		assert.Assert(t, !strings.Contains(string(got), "tampered"), "%s still corrupt", b)
	}
}
