package registrytest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TagAs points tags of repo at the image d already pushed there, as pushes
// at time at (each tag's history records it), through one pusher: a
// repository of a thousand tags takes a second.
func (s *Server) TagAs(tb testing.TB, repo string, d v1.Hash, at time.Time, tags ...string) {
	tb.Helper()
	r, err := name.NewRepository(s.Host+"/"+repo, name.WeakValidation)
	if err != nil {
		tb.Fatal(err)
	}
	desc, err := remote.Get(r.Digest(d.String()), s.pushOptions()...)
	if err != nil {
		tb.Fatalf("registrytest: tag %s@%s: %v", repo, d, err)
	}
	p, err := remote.NewPusher(s.pushOptions()...)
	if err != nil {
		tb.Fatal(err)
	}
	s.mu.Lock()
	prev := s.now
	s.now = func() time.Time { return at }
	s.mu.Unlock()
	defer func() { s.mu.Lock(); s.now = prev; s.mu.Unlock() }()
	for _, t := range tags {
		if err := p.Push(context.Background(), r.Tag(t), desc); err != nil {
			tb.Fatalf("registrytest: tag %s:%s: %v", repo, t, err)
		}
	}
}
