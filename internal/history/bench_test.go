package history_test

import (
	"context"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
)

// latency is the simulated network distance of every request.
const latency = 20 * time.Millisecond

// report adds requests, wire bytes and round trips (wall time / latency) per op.
func report(b *testing.B, s *registrytest.Server, elapsed time.Duration) {
	c := s.Counts()
	n := float64(b.N)
	b.ReportMetric(float64(c.Total)/n, "req/op")
	b.ReportMetric(float64(c.Bytes)/n, "wire-B/op")
	b.ReportMetric(float64(c.Manifest+c.Blob)/n, "manifests/op")
	b.ReportMetric(float64(elapsed)/float64(latency)/n, "RTT/op")
}

func benchHistory(b *testing.B, entries int, platforms, warm bool) {
	s := registrytest.New(b)
	ref := tag(b, s.Ref("chainguard/nginx", "latest"))
	if platforms {
		for i := range entries {
			s.Push(b, "chainguard/nginx", "latest", t0.Add(time.Duration(i)*time.Hour))
		}
	} else {
		for i := range entries {
			s.RecordHistory("chainguard/nginx", "latest", digestN(i), t0.Add(time.Duration(i)*time.Hour))
		}
	}
	s.SetLatency(latency)
	warmCache := b.TempDir()
	run := func(cache string) {
		c := newClient(b, cache, `{}`, nil)
		got, err := c.List(context.Background(), ref, history.Query{})
		if err != nil || len(got) != entries {
			b.Fatalf("got %d entries, %v", len(got), err)
		}
		if platforms {
			if err := c.ResolvePlatforms(context.Background(), ref.Context(), got); err != nil {
				b.Fatal(err)
			}
		}
	}
	if warm {
		run(warmCache)
	}
	s.ResetCounts()
	var elapsed time.Duration
	b.ResetTimer()
	for range b.N {
		cache := warmCache
		if !warm {
			b.StopTimer()
			cache = b.TempDir()
			b.StartTimer()
		}
		start := time.Now()
		run(cache)
		elapsed += time.Since(start)
	}
	b.StopTimer()
	report(b, s, elapsed)
}

func digestN(i int) string {
	const hexdigits = "0123456789abcdef"
	b := []byte("sha256:" + string(make([]byte, 64)))
	for j := range 64 {
		b[7+j] = hexdigits[(i>>(4*(j%8)))&15]
	}
	return string(b)
}

// BenchmarkHistoryCold is one `docker cghistory` with an empty cache:
// ping, token, history.
func BenchmarkHistoryCold(b *testing.B) { benchHistory(b, 30, false, false) }

// BenchmarkHistoryWarm is the same with the token cached on disk: one request.
func BenchmarkHistoryWarm(b *testing.B) { benchHistory(b, 30, false, true) }

// BenchmarkPlatformsCold resolves 50 two-platform builds: manifests fetched concurrently.
func BenchmarkPlatformsCold(b *testing.B) { benchHistory(b, 50, true, false) }

// BenchmarkPlatformsWarm is the same with manifests cached: no manifest fetched.
func BenchmarkPlatformsWarm(b *testing.B) { benchHistory(b, 50, true, true) }
