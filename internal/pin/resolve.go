package pin

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Resolver finds the digest a tag should be pinned to.
type Resolver interface {
	Resolve(ctx context.Context, tag name.Tag) (Resolution, error)
}

// Resolution is what a tag is pinned to.
type Resolution struct {
	// Digest is the index's, or with Platform that platform image's.
	Digest   v1.Hash
	Platform *v1.Platform
	// Note is worth telling about every reference to the tag ("mirror is
	// 2 builds behind upstream").
	Note string
}

// RegistryResolver resolves tags against their registries: the tag's
// current digest (a HEAD request), or with At or Cooldown the build the tag
// pointed to then (the tag history API).
type RegistryResolver struct {
	Registry *registry.Client
	History  *history.Client
	// At pins to the build each tag pointed to at this time.
	At time.Time
	// Cooldown pins to the newest build that has been out this long.
	Cooldown time.Duration
	// Platform pins that platform's image instead of the index.
	Platform *v1.Platform
	Now      func() time.Time
	// Mirrors maps pull-through caches to their upstreams: a mirror's tag
	// is resolved upstream (tag or history), then the mirror is asked for
	// that digest; files keep the mirror's name.
	Mirrors ref.MirrorMap

	mu      sync.Mutex
	history map[string][]history.Entry // tag → its history, as fetched for --at/--cooldown
}

// Keeper is a Resolver that can tell a pin to keep: with --cooldown alone,
// a pin already on a newer build than the cooldown allows is not moved back.
type Keeper interface {
	Keep(tag name.Tag, pinned, candidate v1.Hash) bool
}

// Keep implements Keeper.
func (r *RegistryResolver) Keep(tag name.Tag, pinned, candidate v1.Hash) bool {
	if r.Cooldown <= 0 || !r.At.IsZero() {
		return false // --at rolls back on purpose
	}
	r.mu.Lock()
	entries := r.history[tag.Name()]
	r.mu.Unlock()
	var pinnedAt, candidateAt time.Time
	for _, e := range entries { // newest first: the first sighting is the latest
		if e.Digest == pinned && pinnedAt.IsZero() {
			pinnedAt = e.UpdatedAt
		}
		if e.Digest == candidate && candidateAt.IsZero() {
			candidateAt = e.UpdatedAt
		}
	}
	return !pinnedAt.IsZero() && pinnedAt.After(candidateAt)
}

// ErrTooNew means a tag has no build old enough for --at or --cooldown.
var ErrTooNew = errors.New("no build old enough")

// ErrNoHistory means --at or --cooldown cannot be honoured for a registry.
var ErrNoHistory = errors.New("no tag history API")

// Upstream is the tag a mirror's tag mirrors, or tag itself.
func (r *RegistryResolver) Upstream(tag name.Tag) (name.Tag, bool) {
	up, ok := r.Mirrors.Upstream(tag.Context())
	if !ok {
		return tag, false
	}
	return up.Tag(tag.TagStr()), true
}

// Resolve implements Resolver.
func (r *RegistryResolver) Resolve(ctx context.Context, tag name.Tag) (Resolution, error) {
	from, mirrored := r.Upstream(tag)
	var index v1.Hash
	var err error
	if cutoff, ok := r.cutoff(); ok {
		index, err = r.fromHistory(ctx, tag, from, cutoff)
	} else {
		index, err = r.Registry.Digest(ctx, from)
	}
	if err != nil {
		return Resolution{}, err
	}
	res := Resolution{Digest: index}
	if r.Platform != nil {
		if res, err = r.platform(ctx, from, index); err != nil {
			return Resolution{}, err
		}
	}
	if mirrored {
		if res.Note, err = r.checkMirror(ctx, tag, from, index, res.Digest); err != nil {
			return Resolution{}, err
		}
	}
	return res, nil
}

func (r *RegistryResolver) platform(ctx context.Context, tag name.Tag, index v1.Hash) (Resolution, error) {
	ps, err := r.Registry.Platforms(ctx, tag.Context(), index)
	if err != nil {
		return Resolution{}, err
	}
	for _, p := range ps {
		if p.Platform.Satisfies(*r.Platform) {
			return Resolution{Digest: p.Digest, Platform: &p.Platform}, nil
		}
	}
	return Resolution{}, fmt.Errorf("%s has no %s image", tag, r.Platform)
}

// checkMirror asks the mirror for the digest chosen upstream (a pull-through
// cache fetches it on demand): a mirror that cannot serve it, or serves
// other content under it, is an error. A mirror whose tag points elsewhere
// is worth a note.
func (r *RegistryResolver) checkMirror(ctx context.Context, tag, up name.Tag, index, pinned v1.Hash) (string, error) {
	mirror := tag.Context()
	got, err := r.Registry.Digest(ctx, mirror.Digest(pinned.String()))
	if err != nil {
		return "", fmt.Errorf("the mirror %s cannot serve %s, which %s points to: %w", mirror, pinned, up, err)
	}
	if got != pinned {
		return "", fmt.Errorf("the mirror %s answers %s for %s: its content differs from %s's (a mirror that rewrites manifests); not pinned", mirror, got, pinned, up.Context())
	}
	current, err := r.Registry.Digest(ctx, tag)
	if err != nil || current == index {
		return "", nil // no tag on the mirror yet: nothing stale to report
	}
	behind := "some"
	if entries, err := r.History.List(ctx, up, history.Query{}); err == nil {
		for i, e := range entries {
			if e.Digest == current {
				behind = fmt.Sprint(i)
				break
			}
		}
	}
	return fmt.Sprintf("mirror is %s builds behind upstream (its %s tag serves %s)", behind, tag.TagStr(), current), nil
}

func (r *RegistryResolver) cutoff() (time.Time, bool) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	switch {
	case !r.At.IsZero() && r.Cooldown > 0:
		return minTime(r.At, now().Add(-r.Cooldown)), true
	case !r.At.IsZero():
		return r.At, true
	case r.Cooldown > 0:
		return now().Add(-r.Cooldown), true
	}
	return time.Time{}, false
}

// fromCreated ages the current build of from by its image config's
// "created" time, for --cooldown on a registry without the tag history API:
// old enough, it is the pin; newer, no older build is known (ErrTooNew, so
// --bump passes over the tag); without a time, the build cannot be aged.
func (r *RegistryResolver) fromCreated(ctx context.Context, from name.Tag, cutoff time.Time) (v1.Hash, error) {
	at, current, _, err := r.History.Built(ctx, from)
	if err != nil {
		return v1.Hash{}, err
	}
	if at.IsZero() || at.Year() <= 1 {
		return v1.Hash{}, fmt.Errorf("%w at %s, and %s's image config has no \"created\" time: --cooldown cannot age the build", ErrNoHistory, from.RegistryStr(), from)
	}
	if at.After(cutoff) {
		return v1.Hash{}, fmt.Errorf("%s's build was created %s, after %s, and without the tag history API no older build is known: %w",
			from, at.UTC().Format(time.RFC3339), cutoff.UTC().Format(time.RFC3339), ErrTooNew)
	}
	return current, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// fromHistory picks the newest build of from (tag's upstream, or tag) at or
// before cutoff; the history is kept under tag for Keep.
func (r *RegistryResolver) fromHistory(ctx context.Context, tag, from name.Tag, cutoff time.Time) (v1.Hash, error) {
	entries, err := r.History.List(ctx, from, history.Query{})
	if errors.Is(err, history.ErrNotSupported) {
		if r.At.IsZero() {
			return r.fromCreated(ctx, from, cutoff)
		}
		return v1.Hash{}, fmt.Errorf("%w at %s: --at and --cooldown need it to know past builds (a mirror? map it to its upstream with --registry-map)", ErrNoHistory, from.RegistryStr())
	}
	if err != nil {
		return v1.Hash{}, err
	}
	r.mu.Lock()
	if r.history == nil {
		r.history = map[string][]history.Entry{}
	}
	r.history[tag.Name()] = entries
	r.mu.Unlock()
	for _, e := range entries { // newest first
		if !e.UpdatedAt.After(cutoff) {
			return e.Digest, nil
		}
	}
	return v1.Hash{}, fmt.Errorf("%s had no build at or before %s: %w", from, cutoff.UTC().Format(time.RFC3339), ErrTooNew)
}
