package pin

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker-cghistory/docker-cghistory/internal/tagver"
	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/sync/errgroup"
)

// BumpRule is one --bump value: the level for the images Glob matches
// ("" for every image).
type BumpRule struct {
	Glob  string
	Level tagver.Level
}

// BumpRules are --bump's values in order; the last rule that matches an
// image decides.
type BumpRules []BumpRule

// ParseBumpRules reads --bump values: "LEVEL" or "GLOB=LEVEL".
func ParseBumpRules(values []string) (BumpRules, error) {
	var out BumpRules
	for _, v := range values {
		glob, level, ok := strings.Cut(v, "=")
		if !ok {
			glob, level = "", v
		}
		l, err := tagver.ParseLevel(level)
		if err != nil {
			return nil, err
		}
		if ok {
			if _, err := path.Match(glob, ""); err != nil || glob == "" {
				return nil, fmt.Errorf("%q: a bad glob before '=': want GLOB=LEVEL, e.g. cgr.dev/chainguard/python:*=minor", v)
			}
		}
		out = append(out, BumpRule{Glob: glob, Level: l})
	}
	return out, nil
}

// Level is how far img's tag may move: the last rule whose glob matches
// the reference as written (without its digest), None without one.
func (rs BumpRules) Level(img ref.Image) tagver.Level {
	l := tagver.None
	for _, r := range rs {
		if ok, _ := path.Match(r.Glob, img.Name); r.Glob == "" || ok {
			l = r.Level
		}
	}
	return l
}

// Lister lists a repository's tags (registry.Client.Tags).
type Lister interface {
	Tags(ctx context.Context, repo name.Repository) ([]string, error)
}

// OnceLister lists each repository's tags once per run, however many
// references ask, concurrent callers waiting for the one request.
type OnceLister struct {
	Lister Lister
	mu     sync.Mutex
	repos  map[string]func() ([]string, error)
}

// Tags implements Lister.
func (o *OnceLister) Tags(ctx context.Context, repo name.Repository) ([]string, error) {
	o.mu.Lock()
	if o.repos == nil {
		o.repos = map[string]func() ([]string, error){}
	}
	f, ok := o.repos[repo.Name()]
	if !ok {
		f = sync.OnceValues(func() ([]string, error) { return o.Lister.Tags(context.WithoutCancel(ctx), repo) })
		o.repos[repo.Name()] = f
	}
	o.mu.Unlock()
	return f()
}

// moves says whether a reference's tag may move: a version tag under a
// bump level, or (with --update) a unique tag, which follows its stream.
func moves(img ref.Image, opts Options) bool {
	if opts.Tags == nil || img.Tag == "" {
		return false
	}
	t := tagver.Parse(img.Tag)
	if t.IsUnique() {
		return opts.Update || (t.IsVersion() && opts.Bump.Level(img) != tagver.None)
	}
	return t.IsVersion() && opts.Bump.Level(img) != tagver.None
}

// candidates are the tags a reference may move to, best first, its own
// tag last: newer compatible version tags within its level; for a unique
// tag, the newer builds of its stream (of the newest stream its level
// allows first).
func candidates(tag string, level tagver.Level, tags []string) []string {
	t := tagver.Parse(tag)
	if !t.IsUnique() {
		return tagver.Candidates(tag, tags, level)
	}
	var out []string
	if t.IsVersion() && level != tagver.None {
		if stream, ok := tagver.Newest(t.Stream, tags, level); ok {
			out = append(out, tagver.Builds(stream, tags)...)
		}
	}
	for _, b := range tagver.Builds(t.Stream, tags) {
		if b == tag {
			break
		}
		out = append(out, b)
	}
	return append(out, tag)
}

// retagKey is one distinct tag and level to move.
type retagKey struct {
	tag   name.Tag
	level tagver.Level
}

// retagged is where a tag moves, and the candidates passed over.
type retagged struct {
	tag     name.Tag
	res     Resolution
	skipped []string // "3.13: its image is gone" …
	warning string   // the tag list could not be read
	err     error
}

// retagAll moves each distinct tag of todo that may move to the newest
// candidate the resolver can resolve (so --at and --cooldown choose among
// builds old enough), listing each repository's tags once. A candidate
// whose image is gone or has no build old enough is passed over, noted; a
// repository whose tags cannot be listed keeps its tags, with a warning.
func retagAll(ctx context.Context, r Resolver, todo []pending, opts Options) map[retagKey]retagged {
	out := map[retagKey]retagged{}
	var keys []retagKey
	for _, t := range todo {
		if !moves(t.found.Image, opts) {
			continue
		}
		k := retagKey{t.tag, opts.Bump.Level(t.found.Image)}
		if _, ok := out[k]; !ok {
			out[k] = retagged{}
			keys = append(keys, k)
		}
	}
	results := make([]retagged, len(keys))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Jobs)
	for i, k := range keys {
		g.Go(func() error {
			results[i] = retag(gctx, r, k, opts.Tags)
			return nil
		})
	}
	_ = g.Wait()
	for i, k := range keys {
		out[k] = results[i]
	}
	return out
}

func retag(ctx context.Context, r Resolver, k retagKey, lister Lister) retagged {
	repo := k.tag.Context()
	if u, ok := r.(interface {
		Upstream(name.Tag) (name.Tag, bool)
	}); ok {
		up, _ := u.Upstream(k.tag)
		repo = up.Context()
	}
	tags, err := lister.Tags(ctx, repo)
	if err != nil {
		if ctx.Err() != nil {
			return retagged{err: ctx.Err()}
		}
		return retagged{tag: k.tag, warning: fmt.Sprintf("cannot list the tags of %s, so the tag stays: %v", repo, err)}
	}
	var out retagged
	for _, c := range candidates(k.tag.TagStr(), k.level, tags) {
		t := k.tag.Context().Tag(c)
		res, err := r.Resolve(ctx, t)
		switch {
		case err == nil:
			out.tag, out.res = t, res
			return out
		case c != k.tag.TagStr() && errors.Is(err, registry.ErrNotFound):
			out.skipped = append(out.skipped, c+": listed, but its image is gone")
		case c != k.tag.TagStr() && errors.Is(err, ErrTooNew):
			out.skipped = append(out.skipped, c+": "+err.Error())
		default:
			out.err = err
			return out
		}
	}
	return out
}
