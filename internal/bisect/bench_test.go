package bisect_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/bisect"
	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/imagediff"
	"github.com/docker-cghistory/docker-cghistory/internal/inventory"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	"github.com/docker-cghistory/docker-cghistory/internal/vuln"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// latency is the simulated network distance of every request.
const latency = 20 * time.Millisecond

// benchBisect bisects a 64-build history (pushed images with apk
// databases; the 41st build is the first bad one) from a cold cache, with
// the diff of the answer, and reports runs and registry requests per
// bisection. The command is the in-process verdicts runner: what is
// measured is the search and the registry traffic.
func benchBisect(b *testing.B, platform *v1.Platform) {
	s := registrytest.New(b)
	const n, firstBad = 64, 40
	v := &verdicts{status: map[string]int{}}
	for i := range n {
		db := fmt.Sprintf("P:libssl3\nV:3.4.0-r%d\nA:x86_64\no:openssl\n\n", i)
		if i >= firstBad {
			db += "P:libxml2\nV:2.13.4-r0\nA:x86_64\no:libxml2\n\n"
		}
		d := s.PushLayers(b, "chainguard/app", "latest", t0.Add(time.Duration(i)*time.Hour), "linux/amd64",
			registrytest.Layer{"etc/os-release": "ID=wolfi\n", "lib/apk/db/installed": db})
		if i >= firstBad {
			v.status[d.String()] = 1
		}
	}
	tag := tagOf(b, s, "chainguard/app")
	s.SetLatency(latency)
	s.ResetCounts()
	runs := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		c := cache.New(b.TempDir(), 0)
		b.StartTimer()
		rc := registry.New(registry.Options{Cache: c, RetryBase: time.Millisecond})
		hc := &history.Client{Registry: rc}
		bs := &bisect.Bisector{History: hc, Registry: rc, Runner: v, Differ: &imagediff.Differ{Registry: rc, History: hc,
			Inventory: &inventory.Fetcher{Registry: rc, Cache: c}, SecDB: &vuln.Loader{HTTP: rc.HTTP(), Cache: c}}}
		opts := imagediff.Options{Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, Source: inventory.SourceAuto, Vulns: "none"}
		res, err := bs.Bisect(context.Background(), bisect.Request{Tag: tag, Good: "~63", Command: []string{"true"}, CheckEnds: true,
			Platform: platform, Diff: &opts, Now: time.Now()})
		if err != nil || len(res.FirstBad) != 1 || res.Diff == nil || len(res.Diff.Added) != 1 {
			b.Fatalf("%v %+v", err, res)
		}
		if res.Runs > 2+bisect.MaxRuns(len(res.Candidates)) {
			b.Fatalf("%d runs for %d candidates", res.Runs, len(res.Candidates))
		}
		runs += res.Runs
	}
	b.StopTimer()
	c := s.Counts()
	nf := float64(b.N)
	b.ReportMetric(float64(runs)/nf, "runs/op")
	b.ReportMetric(float64(c.Total)/nf, "req/op")
	b.ReportMetric(float64(c.History)/nf, "history-req/op")
	b.ReportMetric(float64(c.Manifest)/nf, "manifests/op")
	b.ReportMetric(float64(c.Blob)/nf, "blobs/op")
}

// BenchmarkBisect64 is a 64-build history: 62 candidates, 2 end checks
// and ⌈log2(63)⌉ = 6 runs.
func BenchmarkBisect64(b *testing.B) { benchBisect(b, nil) }

// BenchmarkBisect64Platform adds --platform: one manifest per tested build.
func BenchmarkBisect64Platform(b *testing.B) {
	benchBisect(b, &v1.Platform{OS: "linux", Architecture: "amd64"})
}
