package registrytest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Handlers for Override and OverrideHistory that play a hostile registry.
// Each streams what it sends, so a test costs little memory on the server
// side and the client's bounds alone decide how much is read.

// EndlessHistory answers every history request with a full page of 1000
// records, fresh of them newer than any sent before (the rest repeat the
// first page): a history that never ends (fresh = 1000) or that creeps on a
// record at a time (fresh = 1). It counts the pages it served in pages.
func EndlessHistory(fresh int, pages *atomic.Int64) http.HandlerFunc {
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	return func(w http.ResponseWriter, r *http.Request) {
		n := pages.Add(1)
		// Appended rather than fmt.Fprintf'd: the tests run under -race,
		// where a hundred such pages cost seconds through fmt.
		b := make([]byte, 0, 1000*128)
		b = append(b, `{"history":[`...)
		for i := range 1000 {
			at, d := base.Add(time.Duration(i)*time.Second), int64(i)
			if i >= 1000-fresh {
				d = n*1000 + int64(i)
				at = base.Add(time.Duration(d) * time.Minute)
			}
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"updateTimestamp":"`...)
			b = at.AppendFormat(b, time.RFC3339Nano)
			b = append(b, `","digest":"sha256:`...)
			b = appendHex64(b, uint64(d))
			b = append(b, `"}`...)
		}
		b = append(b, `]}`...)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}
}

// appendHex64 appends v as 64 hex digits, zero-padded (fmt's %064x).
func appendHex64(b []byte, v uint64) []byte {
	var digits [16]byte
	hex := strconv.AppendUint(digits[:0], v, 16)
	for range 64 - len(hex) {
		b = append(b, '0')
	}
	return append(b, hex...)
}

// EndlessTags answers a tag list with perPage fresh tags and a Link header
// to a next page, forever. It counts the pages it served in pages.
func EndlessTags(perPage int, pages *atomic.Int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n := pages.Add(1)
		b := make([]byte, 0, 32+perPage*16)
		b = append(b, `{"name":"x","tags":[`...)
		for i := range perPage {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `"t`...)
			b = strconv.AppendInt(b, n, 10)
			b = append(b, '-')
			b = strconv.AppendInt(b, int64(i), 10)
			b = append(b, '"')
		}
		b = append(b, `]}`...)
		w.Header().Set("Link", fmt.Sprintf(`<%s?n=%d&last=t%d>; rel="next"`, r.URL.Path, perPage, n))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}
}

// HugeBody answers status with prefix followed by size bytes of filler
// (spaces, valid inside JSON), streamed; as application/json unless the
// caller set another Content-Type.
func HugeBody(status int, prefix string, size int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		if _, err := io.WriteString(w, prefix); err != nil {
			return
		}
		chunk := bytes.Repeat([]byte(" "), 64<<10)
		for sent := int64(0); sent < size; sent += int64(len(chunk)) {
			if _, err := w.Write(chunk); err != nil {
				return // the client stopped reading: its bound held
			}
		}
	}
}

// BombFile is one file of PushBomb's layer: Size bytes of zeros at Path.
type BombFile struct {
	Path string
	Size int64
}

// PushBomb pushes a single-layer linux/amd64 image to repo:tag whose gzip
// layer is a decompression bomb: files of zeros, about 1 KiB compressed per
// MiB. The layer is a multi-member gzip stream (as gzip -c a b > c makes)
// of one compressed MiB of zeros repeated, so it costs nothing to build.
func (s *Server) PushBomb(tb testing.TB, repo, tag string, files ...BombFile) v1.Hash {
	tb.Helper()
	member := func(p []byte) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(p)
		_ = zw.Close()
		return b.Bytes()
	}
	const mib = 1 << 20
	zeroMiB := member(make([]byte, mib))
	var gz bytes.Buffer
	for _, f := range files {
		var hdr bytes.Buffer
		// Only the header block: the content follows as gzip members.
		if err := tar.NewWriter(&hdr).WriteHeader(&tar.Header{Name: f.Path, Mode: 0o644, Size: f.Size, Typeflag: tar.TypeReg}); err != nil {
			tb.Fatal(err)
		}
		gz.Write(member(hdr.Bytes()))
		for range f.Size / mib {
			gz.Write(zeroMiB)
		}
		gz.Write(member(make([]byte, f.Size%mib+(512-f.Size%512)%512))) // the rest and the tar padding
	}
	gz.Write(member(make([]byte, 1024))) // the end of the archive
	return s.PushLayerBlob(tb, repo, tag, gz.Bytes())
}

// PushLayerBlob pushes a single-layer linux/amd64 image to repo:tag whose
// layer is blob as given (gzip, zstd or a plain tar, told apart by their
// magic numbers), to serve hand-made hostile layers.
func (s *Server) PushLayerBlob(tb testing.TB, repo, tag string, blob []byte) v1.Hash {
	tb.Helper()
	data := blob
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		tb.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		tb.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		tb.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		tb.Fatal(err)
	}
	ref, err := name.ParseReference(s.Ref(repo, tag))
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.Write(ref, img, s.pushOptions()...); err != nil {
		tb.Fatalf("registrytest: push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// PeakHeap runs f and returns how far the heap's live and unswept objects
// grew above their size before it at most (sampled every few
// milliseconds): the whole process, server included, so a bound it meets
// holds for the client alone too.
func PeakHeap(f func()) int64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() int64 { metrics.Read(sample); return int64(sample[0].Value.Uint64()) }
	runtime.GC()
	base := read()
	var peak atomic.Int64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			if n := read() - base; n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(done)
	<-stopped
	return peak.Load()
}
