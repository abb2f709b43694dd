package policy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/imagediff"
	"github.com/docker-cghistory/docker-cghistory/internal/pin"
	"github.com/docker-cghistory/docker-cghistory/internal/tagver"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
)

// DefaultStaleAfter is how long a tag may go without a build before
// --outdated calls it stale (likely end of life).
const DefaultStaleAfter = 30 * 24 * time.Hour

// Lag is how far one reference is behind its tag.
type Lag struct {
	pin.Reference
	// Current is the tag's newest build, CurrentAt when it came out.
	Current   v1.Hash
	CurrentAt time.Time
	// PinnedAt is when the pinned build came out (zero when unpinned or
	// not in the history).
	PinnedAt time.Time
	// Behind counts the builds after the pinned one (-1 when unknown);
	// Since is when the first of them came out.
	Behind int
	Since  time.Time
	// Packages counts the packages added, removed or changed between the
	// pinned build and the current one; Fixed lists the CVEs fixed since.
	Packages int
	Fixed    []string
	// Stale says the tag has had no build for the stale-after window.
	Stale bool
	// Note says what is unknown, and why ("no tag history API at …").
	Note string
	// Stopped says the tag is a version stream that stopped (stale) while
	// Newer, a newer compatible stream, still moves (end of life).
	Stopped bool
	Newer   string
}

// Pinned says the reference is pinned.
func (l Lag) Pinned() bool { return l.Found.Image.Pinned() }

// OutdatedOptions tune the report.
type OutdatedOptions struct {
	StaleAfter time.Duration
	Now        time.Time
	Jobs       int
}

// Outdated reports how far each reference is behind: one history request
// per tag, and one comparison (two inventories) per distinct pinned build,
// all concurrent.
func (c *Chooser) Outdated(ctx context.Context, refs []pin.Reference, opts OutdatedOptions) ([]Lag, error) {
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = DefaultStaleAfter
	}
	if opts.Jobs <= 0 {
		opts.Jobs = 8
	}
	tags, err := c.histories(ctx, refs, opts.Jobs)
	if err != nil {
		return nil, err
	}
	lags := make([]Lag, len(refs))
	pairs := make([]*imagediff.Pair, len(refs))
	var errs []error
	for i, r := range refs {
		t := r.Found.Image.Tagged()
		info := tags[t]
		if info.err != nil {
			errs = append(errs, &pin.LocatedError{File: r.File, Line: r.Found.Line, Ref: r.Found.Text, Err: info.err})
			continue
		}
		l := Lag{Reference: r, Behind: -1, Note: info.note, Current: info.ids[0], CurrentAt: info.builds[0].UpdatedAt}
		l.Stale = !l.CurrentAt.IsZero() && opts.Now.Sub(l.CurrentAt) > opts.StaleAfter
		if l.Pinned() {
			pinned := r.Found.Image.Digest
			for j, id := range info.ids {
				if id == pinned {
					l.Behind, l.PinnedAt = j, info.builds[j].UpdatedAt
					if j > 0 {
						l.Since = info.builds[j-1].UpdatedAt
					}
					break
				}
			}
			if l.Behind < 0 && info.note == "" {
				l.Note = "the pinned build is not in the tag's history"
			}
			if pinned != l.Current {
				repo := c.up(t).Context() // the mirror may not have the current build yet
				pairs[i] = &imagediff.Pair{From: repo.Digest(pinned.String()), To: repo.Digest(l.Current.String())}
				if l.Behind < 0 && info.note != "" {
					l.Behind = 1 // without a history, at least the current build is newer
				}
			}
		}
		lags[i] = l
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c.stopped(ctx, lags, opts)
	explained, err := c.Differ.Explain(ctx, pairs, c.Diff)
	if err != nil {
		return nil, err
	}
	for i, e := range explained {
		switch {
		case e.Err != nil:
			lags[i].Note = join(lags[i].Note, "cannot compare: "+e.Err.Error())
		case e.Result != nil:
			r := e.Result
			lags[i].Packages = len(r.Added) + len(r.Removed) + len(r.Changed)
			lags[i].Fixed = Fixed(r)
			if !r.VulnsChecked && len(r.Warnings) > 0 {
				lags[i].Note = join(lags[i].Note, r.Warnings[0])
			}
		}
	}
	return lags, nil
}

// maxNewerStreams bounds the newer streams whose histories are read for
// one stopped stream (newest first; a moving one is usually the first).
const maxNewerStreams = 16

// stopped marks the stale version tags for which a newer compatible
// stream still moves: each repository's tags are listed once, and the
// newer streams' histories read newest first until one moves. What cannot
// be read leaves the lag as it was, with a note.
func (c *Chooser) stopped(ctx context.Context, lags []Lag, opts OutdatedOptions) {
	lister := &pin.OnceLister{Lister: c.Registry}
	type result struct {
		newer, note string
	}
	results := map[name.Tag]*result{}
	var order []name.Tag
	for _, l := range lags {
		t := l.Found.Image.Tagged()
		if !l.Stale || !tagver.Parse(t.TagStr()).IsVersion() || tagver.Parse(t.TagStr()).IsUnique() {
			continue
		}
		if _, ok := results[t]; !ok {
			results[t] = &result{}
			order = append(order, t)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Jobs)
	for _, t := range order {
		g.Go(func() error {
			up := c.up(t)
			tags, err := lister.Tags(gctx, up.Context())
			if err != nil {
				results[t].note = "cannot tell whether a newer stream moves: " + err.Error()
				return nil
			}
			for i, cand := range tagver.Candidates(up.TagStr(), tags, tagver.Major) {
				if cand == up.TagStr() {
					break
				}
				if i == maxNewerStreams {
					results[t].note = fmt.Sprintf("the %d newest compatible streams have stopped too (the most read)", maxNewerStreams)
					break
				}
				at, _, _, err := c.History.Built(gctx, up.Context().Tag(cand))
				if err != nil || at.IsZero() || opts.Now.Sub(at) > opts.StaleAfter {
					continue
				}
				if _, err := c.Registry.Digest(gctx, up.Context().Tag(cand)); err == nil { // listed, and its image is there
					results[t].newer = cand
					return nil
				}
			}
			return nil
		})
	}
	_ = g.Wait()
	for i, l := range lags {
		r := results[l.Found.Image.Tagged()]
		if r == nil {
			continue
		}
		lags[i].Stopped, lags[i].Newer = r.newer != "", r.newer
		if r.note != "" {
			lags[i].Note = join(lags[i].Note, r.note)
		}
	}
}

// mirrorLag says how far a mirror's tag is behind its upstream, or "".
func (c *Chooser) mirrorLag(ctx context.Context, tag name.Tag, builds []history.Entry) string {
	current, err := c.Registry.Digest(ctx, tag)
	if err != nil || current == builds[0].Digest {
		return ""
	}
	for i, b := range builds {
		if b.Digest == current {
			return fmt.Sprintf("mirror is %d builds behind upstream", i)
		}
	}
	return "the mirror's tag serves a build the upstream never had"
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// tagInfo is a tag's history as pins name its builds.
type tagInfo struct {
	builds []history.Entry
	ids    []v1.Hash // how a pin names each build (platform images with --platform)
	note   string
	err    error
}

// histories reads the history of every tag refs follow, once each,
// concurrently (upstream for mirrors, noting a stale mirror tag).
func (c *Chooser) histories(ctx context.Context, refs []pin.Reference, jobs int) (map[name.Tag]*tagInfo, error) {
	tags := map[name.Tag]*tagInfo{}
	var order []name.Tag
	for _, r := range refs {
		t := r.Found.Image.Tagged()
		if _, ok := tags[t]; !ok {
			tags[t] = &tagInfo{}
			order = append(order, t)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for _, t := range order {
		g.Go(func() error {
			c.history(gctx, t, tags[t])
			return nil
		})
	}
	_ = g.Wait()
	return tags, ctx.Err()
}

func (c *Chooser) history(ctx context.Context, t name.Tag, info *tagInfo) {
	up := c.up(t)
	info.builds, info.err = c.History.List(ctx, up, history.Query{})
	var ns *history.NotSupportedError
	if errors.As(info.err, &ns) {
		info.builds, info.err = []history.Entry{{Digest: ns.Current}}, nil
		info.note = "no tag history API at " + t.RegistryStr()
	}
	if info.err == nil && len(info.builds) == 0 {
		info.err = fmt.Errorf("%s has an empty tag history", up)
	}
	for _, b := range info.builds {
		if info.err != nil {
			return
		}
		var id v1.Hash
		id, info.err = c.build(ctx, up.Context(), b.Digest)
		info.ids = append(info.ids, id)
	}
	if up != t && info.err == nil && len(info.builds) > 0 {
		info.note = c.mirrorLag(ctx, t, info.builds)
	}
}

// Overdue says whether a lag breaks the limits of --exit-code: more builds
// behind than maxBehind, or behind for longer than maxAge (both optional;
// without them any lag counts).
func (l Lag) Overdue(now time.Time, maxAge time.Duration, maxBehind int) bool {
	if l.Stopped {
		return true // a stream at its end of life, with a newer one to move to
	}
	if l.Behind <= 0 {
		return false
	}
	if maxAge <= 0 && maxBehind <= 0 {
		return true
	}
	if maxBehind > 0 && l.Behind > maxBehind {
		return true
	}
	return maxAge > 0 && !l.Since.IsZero() && now.Sub(l.Since) > maxAge
}

// String is a one-line account, for errors and logs.
func (l Lag) String() string {
	return fmt.Sprintf("%s:%d %s: %d builds behind", l.File, l.Found.Line, l.Found.Text, l.Behind)
}
