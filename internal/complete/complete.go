// Package complete answers shell completion of image names, tags, builds,
// dates and platforms: from what earlier runs cached (history, tags,
// manifests, the names used), and from the network only within a short
// deadline, so a completion is fast when cached and never hangs.
package complete

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/output"
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/google/go-containerregistry/pkg/name"
)

// DefaultDeadline bounds the network work of one completion.
const DefaultDeadline = 800 * time.Millisecond

// Candidate is one completion and a word on it.
type Candidate struct {
	Value, Description string
}

// Source answers completions.
type Source struct {
	Cache    *cache.Cache
	Registry *registry.Client
	History  *history.Client
	Refs     ref.Options
	Deadline time.Duration
	Now      func() time.Time
}

func (s *Source) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	d := s.Deadline
	if d <= 0 {
		d = DefaultDeadline
	}
	return context.WithTimeout(ctx, d)
}

// Image completes an image argument as typed so far: a name, "NAME:" tags,
// "NAME~" builds back, "NAME@" digests of past builds.
func (s *Source) Image(ctx context.Context, typed string) []Candidate {
	slash := strings.LastIndex(typed, "/")
	switch {
	case strings.Contains(typed, "~"):
		base, _, _ := strings.Cut(typed, "~")
		return safe(s.builds(ctx, base, func(i int) string { return base + "~" + strconv.Itoa(i) }, typed))
	case strings.Contains(typed, "@"):
		base, _, _ := strings.Cut(typed, "@")
		return safe(s.builds(ctx, base, nil, typed))
	case strings.LastIndex(typed, ":") > slash:
		return safe(s.tags(ctx, typed))
	}
	return safe(s.names(typed))
}

// safe keeps what a shell can be offered: a value with a control
// character, a bidi override or white space (which no valid tag, name or
// platform has: only a hostile registry sends one) is left out, since
// escaped it would complete to a different word; descriptions are escaped.
func safe(cs []Candidate) []Candidate {
	out := cs[:0]
	for _, c := range cs {
		if c.Value == "" || output.Escape(c.Value) != c.Value || strings.ContainsRune(c.Value, ' ') {
			continue
		}
		c.Description = output.Escape(c.Description)
		out = append(out, c)
	}
	return out
}

// names are the repositories used before, short under the namespace.
func (s *Source) names(typed string) []Candidate {
	ns := strings.TrimSuffix(ref.Expand("x", s.Refs.Namespace), "/x") + "/"
	var out []Candidate
	for _, n := range history.Names(s.Cache) {
		v := n
		if short, ok := strings.CutPrefix(n, ns); ok && !strings.Contains(short, "/") {
			v = short
		}
		if strings.HasPrefix(v, typed) {
			out = append(out, Candidate{Value: v})
		} else if strings.HasPrefix(n, typed) {
			out = append(out, Candidate{Value: n})
		}
	}
	return out
}

type cachedTags struct {
	Tags []string  `json:"tags"`
	At   time.Time `json:"at"`
}

// tagsFresh is how long a cached tag list is used without asking again.
const tagsFresh = time.Hour

// RememberTags keeps a repository's tags for completion.
func RememberTags(c *cache.Cache, repo name.Repository, tags []string, now time.Time) {
	_ = c.PutJSON("completion-tags", cache.Key(repo.Name()), cachedTags{Tags: tags, At: now})
	history.RememberName(c, repo.Name())
}

func (s *Source) tags(ctx context.Context, typed string) []Candidate {
	i := strings.LastIndex(typed, ":")
	base := typed[:i]
	repo, err := s.Refs.Repository(base)
	if err != nil {
		return nil
	}
	var ct cachedTags
	if !s.Cache.GetJSON("completion-tags", cache.Key(repo.Name()), &ct) || s.now().Sub(ct.At) > tagsFresh {
		ctx, cancel := s.deadline(ctx)
		defer cancel()
		if tags, err := s.Registry.Tags(ctx, repo); err == nil {
			ct = cachedTags{Tags: tags, At: s.now()}
			RememberTags(s.Cache, repo, tags, s.now())
		}
	}
	var out []Candidate
	for _, t := range ct.Tags {
		v := base + ":" + t
		if !strings.HasPrefix(t, "sha256-") && strings.HasPrefix(v, typed) {
			out = append(out, Candidate{Value: v})
		}
	}
	slices.SortFunc(out, func(a, b Candidate) int { return strings.Compare(a.Value, b.Value) })
	return out
}

// history is base's history: cached, else read within the deadline.
func (s *Source) history(ctx context.Context, base string) []history.Entry {
	tag, err := s.Refs.Tag(base)
	if err != nil {
		return nil
	}
	if entries, ok := history.Cached(s.Cache, tag); ok {
		return entries
	}
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	entries, _ := s.History.List(ctx, tag, history.Query{})
	return entries
}

// builds lists base's past builds as base~N (with value) or base@digest,
// each described by its date.
func (s *Source) builds(ctx context.Context, base string, value func(int) string, typed string) []Candidate {
	var out []Candidate
	for i, e := range s.history(ctx, base) {
		v := base + "@" + e.Digest.String()
		if value != nil {
			v = value(i)
		}
		if strings.HasPrefix(v, typed) {
			out = append(out, Candidate{Value: v, Description: e.UpdatedAt.UTC().Format(time.RFC3339)})
		}
	}
	return out
}

// Dates offers the build times of image, for --since, --until and --at.
func (s *Source) Dates(ctx context.Context, image, typed string) []Candidate {
	var out []Candidate
	for _, e := range s.history(ctx, image) {
		v := e.UpdatedAt.UTC().Format(time.RFC3339)
		if strings.HasPrefix(v, typed) {
			out = append(out, Candidate{Value: v, Description: e.Digest.String()[:19]})
		}
	}
	return safe(out)
}

// Platforms offers the platforms of image's newest build.
func (s *Source) Platforms(ctx context.Context, image string) []Candidate {
	entries := s.history(ctx, image)
	tag, err := s.Refs.Tag(image)
	if err != nil || len(entries) == 0 {
		return nil
	}
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	ps, err := s.Registry.Platforms(ctx, tag.Context(), entries[0].Digest)
	if err != nil {
		return nil
	}
	out := make([]Candidate, 0, len(ps))
	for _, p := range ps {
		out = append(out, Candidate{Value: p.Platform.String()})
	}
	return safe(out)
}

func (s *Source) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
