package registrytest

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// fetchBlob GETs (or HEADs) a blob over plain HTTP with a registry token.
func fetchBlob(t *testing.T, s *Server, method, repo string, d v1.Hash) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+"/v2/"+repo+"/blobs/"+d.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token("", repo))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// pulledManifest fetches repo@digest's manifest from the registry.
func pulledManifest(t *testing.T, s *Server, repo string, d v1.Hash) (v1.Image, *v1.Manifest) {
	t.Helper()
	ref, err := name.ParseReference(s.Ref(repo, "@"+d.String()))
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref, remote.WithTransport(s.Transport()))
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return img, m
}

func TestPushZstdLayers(t *testing.T) {
	s := New(t)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	layers := []Layer{{"etc/os-release": "ID=wolfi\n"}, {"usr/bin/app": "#!/bin/sh\necho hi\n", "etc/.wh.os-release": ""}}
	d := s.PushZstdLayers(t, "chainguard/zstd", "latest", t0, "linux/arm64", layers...)
	if again := s.PushZstdLayers(t, "chainguard/zstd2", "latest", t0, "linux/arm64", layers...); again != d {
		t.Fatalf("not deterministic: %s then %s", d, again)
	}
	if gz := s.PushLayers(t, "chainguard/gzip", "latest", t0, "linux/arm64", layers...); gz == d {
		t.Fatal("zstd and gzip images share a digest")
	}

	img, m := pulledManifest(t, s, "chainguard/zstd", d)
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
		t.Fatalf("manifest %s, config %s", m.MediaType, m.Config.MediaType)
	}
	if len(m.Layers) != 2 {
		t.Fatalf("%d layers", len(m.Layers))
	}
	for _, l := range m.Layers {
		if l.MediaType != types.OCILayerZStd {
			t.Fatalf("layer media type %s", l.MediaType)
		}
		resp, body := fetchBlob(t, s, http.MethodGet, "chainguard/zstd", l.Digest)
		if resp.StatusCode != http.StatusOK || int64(len(body)) != l.Size {
			t.Fatalf("blob %s: %d, %d bytes", l.Digest, resp.StatusCode, len(body))
		}
		if !bytes.HasPrefix(body, []byte{0x28, 0xb5, 0x2f, 0xfd}) {
			t.Fatalf("blob %s does not start with the zstd magic: % x", l.Digest, body[:min(4, len(body))])
		}
		if sha256Hex(body) != l.Digest.Hex {
			t.Fatalf("blob %s: sha256 %s", l.Digest, sha256Hex(body))
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Architecture != "arm64" || !cf.Created.Equal(t0) {
		t.Fatalf("config %s %v", cf.Architecture, cf.Created)
	}
	// The layers decompress to the tars that were pushed.
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := ls[1].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	if len(names) != 2 || names[0] != "etc/.wh.os-release" || names[1] != "usr/bin/app" {
		t.Fatalf("layer files %v", names)
	}
}

func TestCorruptBlob(t *testing.T) {
	s := New(t)
	const repo = "chainguard/app"
	d := s.PushLayers(t, repo, "latest", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "linux/amd64",
		Layer{"a.txt": "first layer"}, Layer{"b.txt": "second layer"})
	_, m := pulledManifest(t, s, repo, d)
	bad, good := m.Layers[0], m.Layers[1]
	s.CorruptBlob(bad.Digest)
	s.ResetCounts()

	for range 2 { // every later GET, not just the next one
		resp, body := fetchBlob(t, s, http.MethodGet, repo, bad.Digest)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("corrupted blob: status %d", resp.StatusCode)
		}
		if int64(len(body)) != bad.Size || resp.ContentLength != bad.Size {
			t.Fatalf("corrupted blob: %d bytes, Content-Length %d, want %d", len(body), resp.ContentLength, bad.Size)
		}
		if got := resp.Header.Get("Docker-Content-Digest"); got != bad.Digest.String() {
			t.Fatalf("Docker-Content-Digest %q", got)
		}
		if sha256Hex(body) == bad.Digest.Hex {
			t.Fatal("corrupted blob served intact")
		}
	}
	resp, body := fetchBlob(t, s, http.MethodHead, repo, bad.Digest)
	if resp.StatusCode != http.StatusOK || resp.ContentLength != bad.Size || len(body) != 0 {
		t.Fatalf("HEAD: %d, Content-Length %d, %d body bytes", resp.StatusCode, resp.ContentLength, len(body))
	}
	resp, body = fetchBlob(t, s, http.MethodGet, repo, good.Digest)
	if resp.StatusCode != http.StatusOK || int64(len(body)) != good.Size || sha256Hex(body) != good.Digest.Hex {
		t.Fatalf("uncorrupted blob: %d, %d bytes, sha256 %s", resp.StatusCode, len(body), sha256Hex(body))
	}
	if c := s.Counts(); c.Blob != 4 || c.Bytes != 2*bad.Size+good.Size {
		t.Fatalf("counts = %+v", c)
	}
}

func TestOverrideAnswersInPlaceOfTheRegistry(t *testing.T) {
	s := New(t)
	s.Override(`/tags/list$`, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"name":"x","tags":["evil"]}`)
	})
	get := func() string {
		resp, err := http.Get(s.URL + "/v2/x/tags/list")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := get(); got != `{"name":"x","tags":["evil"]}` {
		t.Fatalf("override not served: %q", got)
	}
	s.Override(`/tags/list$`, nil)
	if got := get(); bytes.Contains([]byte(got), []byte("evil")) {
		t.Fatalf("override not removed: %q", got)
	}
}
