package pin

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	"github.com/docker-cghistory/docker-cghistory/internal/tagver"
)

// The workload of the versions issue: --bump minor over 50 references to
// 10 repositories of 1,500 tags each (500 streams "1.N", 500 "1.N-dev",
// 500 epoch tags "1.N.0-r0"), against a registry 20 ms away. Each
// repository's tag list (two pages) is read once.
func BenchmarkBumpMinor(b *testing.B) {
	const repos, perRepo, refsPerRepo = 10, 500, 5
	s := registrytest.New(b)
	var refs []string
	for i := range repos {
		repo := fmt.Sprintf("chainguard/img%02d", i)
		img := s.Push(b, repo, "latest", t0, "linux/amd64")
		var tags []string
		for n := range perRepo {
			tags = append(tags, fmt.Sprintf("1.%d", n), fmt.Sprintf("1.%d-dev", n), fmt.Sprintf("1.%d.0-r0", n))
		}
		s.TagAs(b, repo, img.Digest, t0, tags...)
		for _, t := range []string{"1.0", "1.1-dev", "1.2.0-r0", "1.3", "1.4-dev"}[:refsPerRepo] {
			refs = append(refs, s.Ref(repo, t))
		}
	}
	s.SetLatency(benchLatency)
	s.ResetCounts()
	var elapsed time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		dir := b.TempDir()
		for j, r := range refs {
			write(b, dir, fmt.Sprintf("svc%02d/Dockerfile", j), "FROM "+r+"\n")
		}
		c := registry.New(registry.Options{Cache: cache.New(b.TempDir(), 0), Transport: registrytest.LoopbackTransport()})
		files, err := Collect([]string{dir}, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		p, err := Build(context.Background(), files, &RegistryResolver{Registry: c, History: &history.Client{Registry: c}},
			Options{Bump: BumpRules{{Level: tagver.Minor}}, Tags: &OnceLister{Lister: c}})
		elapsed += time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		moved := 0
		for _, ch := range p.Changes() {
			if ch.NewTag != "" {
				moved++
			}
		}
		if moved != len(refs) {
			b.Fatalf("%d of %d tags moved", moved, len(refs))
		}
	}
	c := s.Counts()
	n := float64(b.N)
	reportRequests(b, s, elapsed)
	b.ReportMetric(float64(c.Tags)/n, "tag-list-req/op")
}
