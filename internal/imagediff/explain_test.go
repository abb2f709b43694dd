package imagediff_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/imagediff"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"gotest.tools/v3/assert"
)

// Explain compares each distinct pair once, however many changes share it
// and however many run at once (run with -race), and keeps the order.
func TestExplainOncePerPair(t *testing.T) {
	f := NewFixture(t, false)
	repo, err := name.NewRepository(f.Reg.Ref(f.Repo, ""))
	assert.NilError(t, err)
	pair := &imagediff.Pair{From: repo.Digest(f.Build1.String()), To: repo.Digest(f.Build2.String())}
	back := &imagediff.Pair{From: pair.To, To: pair.From}
	var pairs []*imagediff.Pair
	for i := range 24 {
		switch i % 3 {
		case 0:
			pairs = append(pairs, pair)
		case 1:
			pairs = append(pairs, back)
		default:
			pairs = append(pairs, nil) // a first pin: nothing to compare
		}
	}
	opts := imagediff.Options{Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, Source: "layers", Vulns: "secdb", SecDBURL: f.SecDB.URL}
	// What one comparison costs, without a disk cache.
	f.Reg.ResetCounts()
	_, err = differ(t, "").Diff(context.Background(), pair.From.String(), pair.To.String(), opts)
	assert.NilError(t, err)
	once := f.Reg.Counts()
	f.Reg.ResetCounts()
	got, err := differ(t, "").Explain(context.Background(), pairs, opts)
	assert.NilError(t, err)
	assert.Equal(t, len(got), len(pairs))
	for i, e := range got {
		switch i % 3 {
		case 0:
			assert.Equal(t, describe(e.Result), want)
		case 1:
			assert.Assert(t, e.Err == nil && e.Result.From.Digest == f.Build2 && e.Result.To.Digest == f.Build1, "%d: %+v", i, e)
		default:
			assert.Assert(t, e.Result == nil && e.Err == nil, "%d: %+v", i, e)
		}
	}
	// 16 comparisons in both directions cost what one does: the same two
	// images, each read once.
	assert.Equal(t, f.Reg.Counts().Blob, once.Blob, "%+v, once %+v", f.Reg.Counts(), once)
	assert.Equal(t, f.Reg.Counts().Manifest, once.Manifest, "%+v, once %+v", f.Reg.Counts(), once)
}

func TestChangelog(t *testing.T) {
	f := NewFixture(t, true)
	repo, _ := name.NewRepository(f.Reg.Ref(f.Repo, ""))
	builds := []history.Entry{{Digest: f.Build2, UpdatedAt: t0.Add(24 * time.Hour)}, {Digest: f.Build1, UpdatedAt: t0}}
	opts := imagediff.Options{Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, Vulns: "secdb", SecDBURL: f.SecDB.URL}
	got, err := differ(t, t.TempDir()).Changelog(context.Background(), repo, builds, 2, opts)
	assert.NilError(t, err)
	assert.Equal(t, describe(got[0].Result), want)
	assert.Assert(t, errors.Is(got[1].Err, imagediff.ErrFirstBuild))
	// Only the newest asked for: nothing is "first".
	got, err = differ(t, t.TempDir()).Changelog(context.Background(), repo, builds, 1, opts)
	assert.NilError(t, err)
	assert.Equal(t, len(got), 1)
	assert.Equal(t, describe(got[0].Result), want)
}

// A zstd-compressed image is diffed through its layers like a gzip one.
func TestDiffZstdLayers(t *testing.T) {
	s := registrytest.New(t)
	b1 := []pkg{{"glibc", "2.40-r3", "glibc"}, {"libssl3", "3.4.0-r0", "openssl"}}
	b2 := []pkg{{"glibc", "2.40-r3", "glibc"}, {"libssl3", "3.4.0-r1", "openssl"}, {"libxml2", "2.13.4-r0", "libxml2"}}
	d1 := s.PushZstdLayers(t, "chainguard/z", "latest", t0, "linux/amd64",
		registrytest.Layer{"etc/os-release": "ID=wolfi\n", "lib/apk/db/installed": apkDB(b1)})
	d2 := s.PushZstdLayers(t, "chainguard/z", "latest", t0.Add(time.Hour), "linux/amd64",
		registrytest.Layer{"etc/os-release": "ID=wolfi\n", "lib/apk/db/installed": apkDB(b2)})
	r, err := differ(t, t.TempDir()).Diff(context.Background(), s.Ref("chainguard/z", "latest"), "",
		imagediff.Options{Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, Source: "layers", Vulns: "none"})
	assert.NilError(t, err)
	assert.Equal(t, describe(r), "+libxml2@2.13.4-r0 ~libssl3@3.4.0-r0>3.4.0-r1(up=true)")
	assert.Equal(t, r.From.Digest, d1)
	assert.Equal(t, r.To.Digest, d2)
}
