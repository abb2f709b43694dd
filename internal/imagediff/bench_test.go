package imagediff_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/imagediff"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

const benchLatency = 20 * time.Millisecond

// benchImages pushes two builds like real ones: a 2 MiB base layer, the
// package layer (os-release + apk database of 60 packages), and a 512 KiB
// application layer on top; each with an SBOM.
func benchImages(b *testing.B) (*registrytest.Server, string, string) {
	s := registrytest.New(b)
	random := func(n int) string {
		buf := make([]byte, n)
		_, _ = rand.Read(buf)
		return string(buf)
	}
	var refs []string
	for build := range 2 {
		var pkgs []pkg
		for i := range 60 {
			pkgs = append(pkgs, pkg{fmt.Sprintf("pkg%02d", i), fmt.Sprintf("1.%d-r%d", i, build), fmt.Sprintf("pkg%02d", i/2)})
		}
		d := s.PushLayers(b, "chainguard/app", "latest", t0.Add(time.Duration(build)*time.Hour), "linux/amd64",
			registrytest.Layer{"usr/lib/libbig.so": random(2 << 20)},
			registrytest.Layer{"etc/os-release": "ID=wolfi\n", "lib/apk/db/installed": apkDB(pkgs)},
			registrytest.Layer{"usr/bin/app": random(512 << 10)})
		s.AttachSBOM(b, "chainguard/app", d, spdx(pkgs))
		refs = append(refs, s.Ref("chainguard/app", "")+"@"+d.String())
	}
	s.SetLatency(benchLatency)
	return s, refs[0], refs[1]
}

func benchDiff(b *testing.B, source string, warm bool) {
	s, from, to := benchImages(b)
	cache := b.TempDir()
	opts := imagediff.Options{Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, Source: source, Vulns: "none"}
	run := func(dir string) {
		r, err := differ(b, dir).Diff(context.Background(), from, to, opts)
		if err != nil || len(r.Changed) != 60 {
			b.Fatalf("%v", err)
		}
	}
	if warm {
		run(cache)
	}
	s.ResetCounts()
	var elapsed time.Duration
	b.ResetTimer()
	for i := range b.N {
		dir := cache
		if !warm {
			dir = filepath.Join(cache, fmt.Sprint(i))
		}
		start := time.Now()
		run(dir)
		elapsed += time.Since(start)
	}
	b.StopTimer()
	c := s.Counts()
	n := float64(b.N)
	b.ReportMetric(float64(c.Total)/n, "req/op")
	b.ReportMetric(float64(c.Blob)/n, "blobs/op")
	b.ReportMetric(float64(c.Bytes)/n, "wire-B/op")
	b.ReportMetric(float64(elapsed)/float64(benchLatency)/n, "RTT/op")
}

func BenchmarkDiffSBOMCold(b *testing.B)   { benchDiff(b, "sbom", false) }
func BenchmarkDiffSBOMWarm(b *testing.B)   { benchDiff(b, "sbom", true) }
func BenchmarkDiffLayersCold(b *testing.B) { benchDiff(b, "layers", false) }
func BenchmarkDiffLayersWarm(b *testing.B) { benchDiff(b, "layers", true) }

// BenchmarkPeerSyftBothImages has syft produce both package lists for the
// same pair (what a syft-based diff needs), for the wall-time ratio.
func BenchmarkPeerSyftBothImages(b *testing.B) {
	syft, err := exec.LookPath("syft")
	if err != nil {
		if p := filepath.Join(os.Getenv("HOME"), "go", "bin", "syft"); fileExists(p) {
			syft = p
		} else {
			b.Skip("syft not installed (go install github.com/anchore/syft/cmd/syft@v1.52.0)")
		}
	}
	s, from, to := benchImages(b)
	env := append(os.Environ(), "SYFT_REGISTRY_INSECURE_USE_HTTP=true", "SYFT_CHECK_FOR_APP_UPDATE=false", "DOCKER_CONFIG="+b.TempDir(),
		"SYFT_CACHE_DIR="+b.TempDir())
	s.ResetCounts()
	b.ResetTimer()
	for range b.N {
		for _, ref := range []string{from, to} {
			cmd := exec.Command(syft, "registry:"+ref, "-o", "json", "-q")
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("syft: %v: %.500s", err, out)
			}
		}
	}
	b.StopTimer()
	c := s.Counts()
	b.ReportMetric(float64(c.Total)/float64(b.N), "req/op")
	b.ReportMetric(float64(c.Bytes)/float64(b.N), "wire-B/op")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
