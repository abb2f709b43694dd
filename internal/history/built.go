package history

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/tagver"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
)

// Build time sources.
const (
	FromHistory = "history" // the tag history API
	FromConfig  = "config"  // the image config's "created"
)

// Built is when tag's current build came out: the newest record of its
// history, or on a registry without the history API the "created" time of
// its image config (the first platform's, for an index). From names the
// source; a zero time means neither said.
func (c *Client) Built(ctx context.Context, tag name.Tag) (at time.Time, current v1.Hash, from string, err error) {
	entries, err := c.List(ctx, tag, Query{})
	var ns *NotSupportedError
	switch {
	case errors.As(err, &ns):
		at, err = c.created(ctx, tag.Context(), ns.Current)
		return at, ns.Current, FromConfig, err
	case err != nil:
		return time.Time{}, v1.Hash{}, "", err
	case len(entries) == 0:
		return time.Time{}, v1.Hash{}, FromHistory, nil
	}
	return entries[0].UpdatedAt, entries[0].Digest, FromHistory, nil
}

// created reads an image's config "created" time.
func (c *Client) created(ctx context.Context, repo name.Repository, d v1.Hash) (time.Time, error) {
	ps, err := c.Registry.Platforms(ctx, repo, d)
	if err != nil || len(ps) == 0 {
		return time.Time{}, err
	}
	m, err := c.Registry.ImageManifest(ctx, repo, ps[0].Digest)
	if err != nil {
		return time.Time{}, err
	}
	cf, err := c.Registry.Config(ctx, repo, m)
	if err != nil {
		return time.Time{}, err
	}
	return cf.Created.UTC(), nil
}

// Stream is a version stream of a repository with its newest build: when
// it came out, whether it still moves (a build within StaleAfter), and for
// one that stopped the newest compatible stream that still moves.
type Stream struct {
	tagver.Stream
	Built time.Time
	From  string // FromHistory or FromConfig
	// Moving says a build came out within the stale-after window.
	Moving bool
	// Newer is the newest compatible stream that still moves, for one that
	// stopped ("" when none is newer).
	Newer string
	// Note says what is unknown ("no build time: …").
	Note string
}

// MaxStreams bounds the streams Streams reads, one history request each
// (Chainguard's largest repositories have a few hundred).
const MaxStreams = 2000

// maxNewer bounds the newer streams checked for one that stopped.
const maxNewer = 16

// StreamOptions tune Streams.
type StreamOptions struct {
	StaleAfter time.Duration
	Now        time.Time
	Jobs       int
}

// Streams groups a repository's tags into version streams and reads each
// stream tag's newest build (Built), opts.Jobs at a time. A stream tag
// whose build cannot be read is kept, with a note; only ctx's end fails.
func (c *Client) Streams(ctx context.Context, repo name.Repository, tags []string, opts StreamOptions) ([]Stream, error) {
	groups := tagver.Streams(tags)
	if len(groups) > MaxStreams {
		return nil, fmt.Errorf("%s has %d version streams, more than the %d whose histories --streams reads (one request each)", repo, len(groups), MaxStreams)
	}
	out := make([]Stream, len(groups))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(opts.Jobs, 1))
	for i, s := range groups {
		out[i].Stream = s
		g.Go(func() error {
			at, _, from, err := c.Built(gctx, repo.Tag(s.Tag))
			switch {
			case err != nil:
				out[i].Note = "no build time: " + err.Error()
			case at.IsZero():
				out[i].Note = "no build time"
			}
			out[i].Built, out[i].From = at, from
			out[i].Moving = !at.IsZero() && opts.Now.Sub(at) <= opts.StaleAfter
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var moving []string
	for _, s := range out {
		if s.Moving {
			moving = append(moving, s.Tag)
		}
	}
	for i, s := range out {
		if s.Moving || s.Built.IsZero() {
			continue
		}
		for j, n := range tagver.Candidates(s.Tag, moving, tagver.Major) {
			if n == s.Tag || j == maxNewer {
				break
			}
			if _, err := c.Registry.Digest(ctx, repo.Tag(n)); err == nil { // listed, and its image is there
				out[i].Newer = n
				break
			}
		}
	}
	return out, ctx.Err()
}
