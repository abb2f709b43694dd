package registry

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/zstd"
)

// Tag lists of a hostile registry: Link headers forever (remote.List
// followed them without end), a page of a gigabyte (decoded whole). Each
// stops at its limit with an error naming the repository and the limit,
// quickly and in bounded memory.
func TestTagListIsBounded(t *testing.T) {
	s := registrytest.New(t)
	s.Push(t, "chainguard/x", "latest", time.Now(), "linux/amd64")
	repo, _ := name.NewRepository(s.Host + "/chainguard/x")
	var pages atomic.Int64
	cases := []struct {
		name      string
		h         http.HandlerFunc
		opts      Options
		inErr     string
		wantPages int64
	}{
		// 20,000 tags rather than the default 200,000 (JSON under -race
		// is slow); TestHostileRegistriesThroughDocker meets the default.
		{"endless pages of 1000 tags", registrytest.EndlessTags(1000, &pages), Options{MaxTags: 20_000}, "more than 20000 tags, the limit", 21},
		{"endless pages of one tag", registrytest.EndlessTags(1, &pages), Options{MaxTagPages: 50}, "more than 50 pages, the limit", 50},
		{"a 1 GiB page", registrytest.HugeBody(http.StatusOK, `{"name":"x","tags":[`, 1<<30), Options{MaxTagPageBytes: 1 << 20}, "a page larger than 1MiB, the limit per page", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pages.Store(0)
			s.Override(`/tags/list$`, tc.h)
			defer s.Override(`/tags/list$`, nil)
			tc.opts.Cache = cache.New(t.TempDir(), 0)
			c := New(tc.opts)
			var err error
			start := time.Now()
			grew := registrytest.PeakHeap(func() { _, err = c.Tags(context.Background(), repo) })
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), tc.inErr) || !strings.Contains(err.Error(), "the tag list in "+s.Host+"/chainguard/x") {
				t.Fatalf("err = %v\nwant ErrTooLarge naming the repository and %q", err, tc.inErr)
			}
			if got := pages.Load(); tc.wantPages > 1 && got != tc.wantPages {
				t.Errorf("served %d pages, want %d", got, tc.wantPages)
			}
			if grew > 128<<20 {
				t.Errorf("heap in use grew by %d MiB", grew>>20)
			}
			if d := time.Since(start); d > time.Minute {
				t.Errorf("took %s", d)
			}
		})
	}
	// Within the limits, every page is read, in order.
	pages.Store(0)
	s.Override(`/tags/list$`, func(w http.ResponseWriter, r *http.Request) {
		if pages.Add(1) < 3 {
			registrytest.EndlessTags(2, &atomic.Int64{})(w, r)
			return
		}
		w.Write([]byte(`{"tags":["last"]}`))
	})
	tags, err := New(Options{Cache: cache.New(t.TempDir(), 0)}).Tags(context.Background(), repo)
	if err != nil || strings.Join(tags, " ") != "t1-0 t1-1 t1-0 t1-1 last" {
		t.Errorf("tags = %v, %v", tags, err)
	}
	// A next page on another host is refused.
	s.Override(`/tags/list$`, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `<http://elsewhere.example/v2/x/tags/list?n=1>; rel="next"`)
		w.Write([]byte(`{"tags":["a"]}`))
	})
	if _, err := New(Options{Cache: cache.New(t.TempDir(), 0)}).Tags(context.Background(), repo); !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), "another host") {
		t.Errorf("err = %v", err)
	}
	s.Override(`/tags/list$`, nil)
}

// A manifest, index or referrers list larger than the limit fails at the
// limit, whether its length is announced or streamed; go-containerregistry
// alone read up to 100 MiB of it. The limit is lowered to 1 MiB (reading
// under -race is slow); TestHostileRegistriesThroughDocker meets the
// default.
func TestManifestSizeIsBounded(t *testing.T) {
	s := registrytest.New(t)
	img := s.Push(t, "chainguard/x", "latest", time.Now(), "linux/amd64")
	repo, _ := name.NewRepository(s.Host + "/chainguard/x")
	for _, announced := range []bool{false, true} {
		s.Override(`/manifests/`, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
			if announced {
				w.Header().Set("Content-Length", "1073741824")
			}
			registrytest.HugeBody(http.StatusOK, `{"manifests":[`, 1<<30)(w, r)
		})
		c := New(Options{Cache: cache.New(t.TempDir(), 0), MaxManifestSize: 1 << 20})
		var err error
		start := time.Now()
		grew := registrytest.PeakHeap(func() { _, _, err = c.Manifest(context.Background(), repo, img.Digest) })
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "manifest "+img.Digest.String()+" in "+s.Host+"/chainguard/x is too large: over the 1MiB limit for manifests") {
			t.Errorf("announced %v: err = %v", announced, err)
		}
		if grew > 128<<20 || time.Since(start) > time.Minute {
			t.Errorf("announced %v: heap grew %d MiB in %s", announced, grew>>20, time.Since(start))
		}
		tag, _ := name.NewTag(s.Host + "/chainguard/x:latest")
		if _, _, err := c.TagManifest(context.Background(), tag); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "manifest latest in") {
			t.Errorf("announced %v: tag: err = %v", announced, err)
		}
	}
	s.Override(`/manifests/`, nil)
	s.Override(`/referrers/`, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
		registrytest.HugeBody(http.StatusOK, `{"manifests":[`, 1<<30)(w, r)
	})
	defer s.Override(`/referrers/`, nil)
	_, err := New(Options{Cache: cache.New(t.TempDir(), 0), MaxManifestSize: 1 << 20}).Referrers(context.Background(), repo, img.Digest)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "the referrers of "+img.Digest.String()) {
		t.Errorf("referrers: err = %v", err)
	}
	// A manifest within the limit is read as before.
	if _, _, err := New(Options{Cache: cache.New(t.TempDir(), 0), MaxManifestSize: 1 << 20}).Manifest(context.Background(), repo, img.Digest); err != nil {
		t.Error(err)
	}
}

// An error answer with an endless body is read only in part (64 KiB) and
// its body never reaches the message.
func TestErrorBodyIsBounded(t *testing.T) {
	s := registrytest.New(t)
	s.Push(t, "chainguard/x", "latest", time.Now(), "linux/amd64")
	repo, _ := name.NewRepository(s.Host + "/chainguard/x")
	s.Override(`/tags/list$|/manifests/`, registrytest.HugeBody(http.StatusNotFound, `{"errors":[{"code":"NAME_UNKNOWN","message":"`, 1<<30))
	c := New(Options{Cache: cache.New(t.TempDir(), 0)})
	start := time.Now()
	var errs []error
	grew := registrytest.PeakHeap(func() {
		_, err := c.Tags(context.Background(), repo)
		errs = append(errs, err)
		_, _, err = c.Manifest(context.Background(), repo, v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 64)})
		errs = append(errs, err)
	})
	for _, err := range errs {
		if !errors.Is(err, ErrNotFound) || len(err.Error()) > 300 {
			t.Errorf("err = %.400v", err)
		}
	}
	if grew > 64<<20 || time.Since(start) > 30*time.Second {
		t.Errorf("heap grew %d MiB in %s", grew>>20, time.Since(start))
	}
}

// A zstd layer whose frame asks for a 512 MiB window (which the decoder
// would allocate) is refused at MaxZstdWindow, naming the layer; a zstd
// layer with an ordinary window reads as before.
func TestZstdWindowIsBounded(t *testing.T) {
	s := registrytest.New(t)
	var tarball bytes.Buffer
	tw := tar.NewWriter(&tarball)
	tw.WriteHeader(&tar.Header{Name: "etc/os-release", Mode: 0o644, Size: 10, Typeflag: tar.TypeReg})
	tw.Write([]byte("ID=wolfi\n\n"))
	tw.Close()
	var z bytes.Buffer
	zw, _ := zstd.NewWriter(&z, zstd.WithWindowSize(1<<20), zstd.WithSingleSegment(false))
	zw.Write(tarball.Bytes())
	zw.Close()
	ordinary := bytes.Clone(z.Bytes())
	// Frame header: magic, descriptor (single segment: bit 5), then the
	// window descriptor: exponent 19 is a 2^(10+19) = 512 MiB window.
	huge := bytes.Clone(ordinary)
	if huge[4]&0x20 != 0 {
		t.Fatalf("the encoder wrote a single-segment frame (%#x): no window descriptor to raise", huge[4])
	}
	huge[5] = 19 << 3
	repo, _ := name.NewRepository(s.Host + "/chainguard/zstd")
	for _, tc := range []struct {
		name  string
		blob  []byte
		inErr string
	}{
		{"ordinary", ordinary, ""},
		{"512 MiB window", huge, "is too large: its zstd window is over the 128MiB limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := s.PushLayerBlob(t, "chainguard/zstd", "latest", tc.blob)
			c := New(Options{Cache: cache.New(t.TempDir(), 0)})
			m, err := c.ImageManifest(context.Background(), repo, d)
			if err != nil {
				t.Fatal(err)
			}
			l, err := c.Layer(context.Background(), repo, m.Layers[0])
			if err != nil {
				t.Fatal(err)
			}
			rc, err := l.Uncompressed()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if tc.inErr == "" {
				if err != nil || !bytes.Equal(got, tarball.Bytes()) {
					t.Fatalf("read %d bytes, %v", len(got), err)
				}
				return
			}
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "layer "+m.Layers[0].Digest.String()+" in "+s.Host+"/chainguard/zstd "+tc.inErr) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestManifestPath(t *testing.T) {
	for p, want := range map[string]string{
		"/v2/a/b/manifests/latest":          "a/b|manifest latest",
		"/v2/a/referrers/sha256:00":         "a|the referrers of sha256:00",
		"/v2/a/manifests/b/manifests/v1":    "a/manifests/b|manifest v1",
		"/v2/a/manifests/b/tags/list":       "|",
		"/v2/a/manifests/b/blobs/sha256:00": "|",
		"/v2/a/_chainguard/history/latest":  "|",
		"/token":                            "|",
	} {
		repo, subject, _ := manifestPath(p)
		if got := repo + "|" + subject; got != want {
			t.Errorf("%s: %q, want %q", p, got, want)
		}
	}
}
