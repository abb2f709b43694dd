package policy_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/imagediff"
	"github.com/docker-cghistory/docker-cghistory/internal/inventory"
	"github.com/docker-cghistory/docker-cghistory/internal/pin"
	"github.com/docker-cghistory/docker-cghistory/internal/policy"
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	"github.com/docker-cghistory/docker-cghistory/internal/vuln"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The --outdated workload of the update-policy issue: 20 distinct pinned
// images, each 10 builds behind, against a registry 20 ms away.
const (
	benchImages  = 20
	benchBuilds  = 11
	benchLatency = 20 * time.Millisecond
)

func benchRefs(b *testing.B) (*registrytest.Server, []pin.Reference) {
	s := registrytest.New(b)
	t0 := time.Now().Add(-30 * 24 * time.Hour)
	var refs []pin.Reference
	for i := range benchImages {
		repo := fmt.Sprintf("chainguard/img%02d", i)
		var first v1.Hash
		for build := range benchBuilds {
			apk := fmt.Sprintf("P:libssl3\nV:3.4.%d-r0\nA:x86_64\no:openssl\n\nP:glibc\nV:2.40-r3\nA:x86_64\no:glibc\n\n", build)
			d := s.PushLayers(b, repo, "latest", t0.Add(time.Duration(build)*24*time.Hour), "linux/amd64",
				registrytest.Layer{"etc/os-release": "ID=wolfi\n", "etc/image": repo, "lib/apk/db/installed": apk},
				registrytest.Layer{"usr/bin/app": strings.Repeat("x", 64<<10)})
			if build == 0 {
				first = d
			}
		}
		text := s.Ref(repo, "latest") + "@" + first.String()
		f, err := ref.Parse(ref.KindFrom, i+1, 0, text)
		if err != nil {
			b.Fatal(err)
		}
		refs = append(refs, pin.Reference{File: "Dockerfile", FileKind: ref.Dockerfile, Found: f})
	}
	s.SetLatency(benchLatency)
	return s, refs
}

func benchOutdated(b *testing.B, warm bool) {
	s, refs := benchRefs(b)
	secdb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"packages":[{"pkg":{"name":"openssl","secfixes":{"3.4.5-r0":["CVE-2024-0001"]}}}]}`))
	}))
	defer secdb.Close()
	dir := b.TempDir()
	run := func(cacheDir string) {
		dc := cache.New(cacheDir, 0)
		c := registry.New(registry.Options{Cache: dc, Transport: registrytest.LoopbackTransport()})
		h := &history.Client{Registry: c}
		ch := &policy.Chooser{Registry: c, History: h,
			Differ: &imagediff.Differ{Registry: c, History: h, Inventory: &inventory.Fetcher{Registry: c, Cache: dc}, SecDB: &vuln.Loader{HTTP: c.HTTP(), Cache: dc}},
			Diff:   imagediff.Options{Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, Source: "auto", Vulns: "secdb", SecDBURL: secdb.URL}}
		lags, err := ch.Outdated(context.Background(), refs, policy.OutdatedOptions{Now: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		for _, l := range lags {
			if l.Behind != benchBuilds-1 || len(l.Fixed) != 1 || l.Packages != 1 {
				b.Fatalf("lag %+v", l)
			}
		}
	}
	if warm {
		run(dir)
	}
	s.ResetCounts()
	var elapsed time.Duration
	b.ResetTimer()
	for i := range b.N {
		d := dir
		if !warm {
			d = filepath.Join(dir, fmt.Sprint(i))
		}
		start := time.Now()
		run(d)
		elapsed += time.Since(start)
	}
	b.StopTimer()
	c := s.Counts()
	n := float64(b.N)
	b.ReportMetric(float64(c.Total)/n, "req/op")
	b.ReportMetric(float64(c.History)/n, "history-req/op")
	b.ReportMetric(float64(c.Blob)/n, "blobs/op")
	b.ReportMetric(float64(c.Bytes)/n, "wire-B/op")
	b.ReportMetric(float64(elapsed)/float64(benchLatency)/n, "RTT/op")
}

// BenchmarkOutdatedCold reports 20 pins 10 builds behind, caches empty.
func BenchmarkOutdatedCold(b *testing.B) { benchOutdated(b, false) }

// BenchmarkOutdatedWarm reports them again with the caches of a first run.
func BenchmarkOutdatedWarm(b *testing.B) { benchOutdated(b, true) }
