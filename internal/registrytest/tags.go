package registrytest

import (
	"context"
	"testing"
	"time"

	"github.com/distribution/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TagAs points tags of repo at the image d already pushed there, as pushes
// at time at (each tag's history records it). The tags are written through
// the registry's own tag store, as its manifest PUT by tag writes them,
// without a request per tag: a repository of a thousand tags is made in
// well under a second, where a thousand PUTs took seconds under -race.
func (s *Server) TagAs(tb testing.TB, repo string, d v1.Hash, at time.Time, tags ...string) {
	tb.Helper()
	ctx := context.Background()
	named, err := reference.WithName(repo)
	if err != nil {
		tb.Fatal(err)
	}
	r, err := s.storage.Repository(ctx, named)
	if err != nil {
		tb.Fatalf("registrytest: tag %s: %v", repo, err)
	}
	ms, err := r.Manifests(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	dg := digest.Digest(d.String())
	if ok, err := ms.Exists(ctx, dg); err != nil || !ok {
		tb.Fatalf("registrytest: tag %s@%s: no such manifest (%v)", repo, d, err)
	}
	for _, t := range tags {
		if err := r.Tags(ctx).Tag(ctx, t, ocispec.Descriptor{Digest: dg}); err != nil {
			tb.Fatalf("registrytest: tag %s:%s: %v", repo, t, err)
		}
		s.RecordHistory(repo, t, d.String(), at)
	}
}
