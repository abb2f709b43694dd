// Package history reads Chainguard's tag history API
// (GET /v2/<repo>/_chainguard/history/<tag>): every digest a tag pointed to,
// and when.
package history

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/docker-cghistory/docker-cghistory/internal/history/cached"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
)

// PageLimit is the most records cgr.dev returns for one request.
const PageLimit = 1000

// Limits on what one tag's history may cost: a registry that always has a
// next page, or pages that add a record or two each, is stopped by them
// with an error naming the registry and the limit. A record costs about
// 250 bytes in memory, so DefaultMaxRecords keeps a history under 30 MB.
const (
	// DefaultMaxRecords bounds the distinct records read for one tag
	// (cgr.dev's busiest tags have a few thousand).
	DefaultMaxRecords = 100_000
	// DefaultMaxPages bounds the history requests for one tag.
	DefaultMaxPages = 200
	// MaxPageBytes bounds one history response (1000 records take about
	// 130 KB).
	MaxPageBytes = 16 << 20
)

// Entry is one update of a tag.
type Entry struct {
	Digest    v1.Hash
	UpdatedAt time.Time
	// Platforms is filled by Client.ResolvePlatforms.
	Platforms []registry.Platform
}

// ErrNotSupported means the registry has no tag history API.
var ErrNotSupported = errors.New("registry does not offer the tag history API")

// NotSupportedError says a registry lacks the history API, with the tag's
// current digest so the user still learns something.
type NotSupportedError struct {
	Tag     name.Tag
	Current v1.Hash
}

func (e *NotSupportedError) Error() string {
	return fmt.Sprintf("%s does not offer the tag history API (GET /v2/<repo>/_chainguard/history/<tag>); %s currently points to %s",
		e.Tag.RegistryStr(), e.Tag.String(), e.Current)
}

// Unwrap matches ErrNotSupported.
func (e *NotSupportedError) Unwrap() error { return ErrNotSupported }

// Client reads tag histories through a registry client.
type Client struct {
	Registry *registry.Client
	// Cache, when set, keeps every whole history read (and the repository
	// names asked about) for shell completion, which may not wait for the
	// network.
	Cache *cache.Cache
	// Jobs bounds concurrent manifest fetches in ResolvePlatforms (default 16).
	Jobs int
	// MaxRecords and MaxPages bound one tag's history (default
	// DefaultMaxRecords and DefaultMaxPages).
	MaxRecords, MaxPages int
}

// Query narrows a history request. Since and Until are sent to the server
// as "start" and "end", and applied client-side too, since servers may
// ignore them.
type Query struct {
	Since, Until time.Time
}

// List returns every update of tag, newest first, de-duplicated. It pages
// past the server's record cap by asking again from the newest timestamp seen.
func (c *Client) List(ctx context.Context, tag name.Tag, q Query) ([]Entry, error) {
	repo := tag.Context()
	hc, err := c.Registry.HTTPClient(ctx, repo)
	if err != nil {
		return nil, err
	}
	type key struct {
		digest string
		at     int64
	}
	seen := map[key]bool{}
	var out []Entry
	maxRecords, maxPages := cmp.Or(c.MaxRecords, DefaultMaxRecords), cmp.Or(c.MaxPages, DefaultMaxPages)
	start, end := q.Since, q.Until
	for pages := 1; ; pages++ {
		if pages > maxPages {
			return nil, tooLarge(tag, fmt.Sprintf("more than %d pages, the limit per tag", maxPages))
		}
		page, err := c.page(ctx, hc, tag, start, end)
		if err != nil {
			return nil, err
		}
		added := 0
		for _, e := range page {
			k := key{e.Digest.String(), e.UpdatedAt.UnixNano()}
			if !seen[k] {
				seen[k] = true
				added++
				out = append(out, e)
			}
		}
		if len(out) > maxRecords {
			return nil, tooLarge(tag, fmt.Sprintf("more than %d records, the limit per tag", maxRecords))
		}
		// A short page is the last one. A full page means more records: ask
		// again past it, in the direction the server walks (documented as
		// oldest first; newest first has been seen when "end" is set). A page
		// that adds nothing (a server ignoring the bounds) ends the loop.
		if len(page) < PageLimit || added == 0 {
			break
		}
		first, last := page[0].UpdatedAt, page[len(page)-1].UpdatedAt
		if !last.Before(first) {
			if !last.After(start) {
				break
			}
			start = last
		} else {
			if !end.IsZero() && !last.Before(end) {
				break
			}
			end = last
		}
	}
	out = slices.DeleteFunc(out, func(e Entry) bool {
		return (!q.Since.IsZero() && e.UpdatedAt.Before(q.Since)) || (!q.Until.IsZero() && e.UpdatedAt.After(q.Until))
	})
	slices.SortStableFunc(out, func(a, b Entry) int { return b.UpdatedAt.Compare(a.UpdatedAt) })
	if q == (Query{}) {
		c.remember(tag, out)
	}
	return out, nil
}

// remember keeps a whole history for completion, and the repository's name.
func (c *Client) remember(tag name.Tag, entries []Entry) {
	if c.Cache == nil {
		return
	}
	kept := make([]cached.Entry, len(entries))
	for i, e := range entries {
		kept[i] = cached.Entry{Digest: e.Digest, UpdatedAt: e.UpdatedAt}
	}
	cached.Remember(c.Cache, tag, kept)
}

// Cached returns the history last read for tag, without the network.
func Cached(c *cache.Cache, tag name.Tag) ([]Entry, bool) {
	in, ok := cached.History(c, tag)
	if !ok {
		return nil, false
	}
	out := make([]Entry, len(in))
	for i, e := range in {
		out[i] = Entry{Digest: e.Digest, UpdatedAt: e.UpdatedAt}
	}
	return out, true
}

// RememberName adds a repository to the names completion offers, most
// recent first.
func RememberName(c *cache.Cache, repo string) { cached.RememberName(c, repo) }

// Names are the repositories remembered, most recent first.
func Names(c *cache.Cache) []string { return cached.Names(c) }

// record decodes both key casings: encoding/json matches keys
// case-insensitively, so "updateTimestamp" and "UpdateTimestamp" both land.
type record struct {
	UpdateTimestamp string `json:"updateTimestamp"`
	Digest          string `json:"digest"`
}

func (c *Client) page(ctx context.Context, hc *http.Client, tag name.Tag, start, end time.Time) ([]Entry, error) {
	repo := tag.Context()
	u := url.URL{
		Scheme: repo.Scheme(),
		Host:   repo.RegistryStr(),
		Path:   fmt.Sprintf("/v2/%s/_chainguard/history/%s", repo.RepositoryStr(), tag.TagStr()),
	}
	q := url.Values{}
	if !start.IsZero() {
		q.Set("start", start.UTC().Format(time.RFC3339Nano))
	}
	if !end.IsZero() {
		q.Set("end", end.UTC().Format(time.RFC3339Nano))
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, registry.RequestError(repo.RegistryStr(), err)
	}
	if err := c.Registry.CheckResponse(resp, repo); err != nil {
		return nil, c.explain(ctx, tag, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxPageBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read history of %s: %w", tag, err)
	}
	if len(body) > MaxPageBytes {
		return nil, tooLarge(tag, fmt.Sprintf("a response larger than %d MiB, the limit per page", MaxPageBytes>>20))
	}
	entries, err := decode(body)
	if err != nil {
		return nil, badResponse(tag, err.Error())
	}
	return entries, nil
}

// decode parses a history response body.
func decode(body []byte) ([]Entry, error) {
	var doc struct {
		History *[]record `json:"history"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	if doc.History == nil {
		return nil, errors.New(`no "history" field in the response`)
	}
	entries := make([]Entry, 0, len(*doc.History))
	for i, r := range *doc.History {
		d, err := v1.NewHash(r.Digest)
		if err != nil {
			return nil, fmt.Errorf("record %d: bad digest %q", i, r.Digest)
		}
		at, err := time.Parse(time.RFC3339Nano, r.UpdateTimestamp)
		if err != nil {
			return nil, fmt.Errorf("record %d: bad timestamp %q", i, r.UpdateTimestamp)
		}
		entries = append(entries, Entry{Digest: d, UpdatedAt: at.UTC()})
	}
	return entries, nil
}

// tooLarge reports a history past one of the limits above.
func tooLarge(tag name.Tag, limit string) error {
	return &registry.Error{Kind: registry.ErrTooLarge, Host: tag.RegistryStr(), Repo: tag.RepositoryStr(),
		Subject: "the tag history of " + tag.TagStr(), Err: errors.New(limit)}
}

func badResponse(tag name.Tag, msg string) error {
	return &registry.Error{Kind: registry.ErrBadResponse, Host: tag.RegistryStr(), Repo: tag.RepositoryStr(), Message: "tag history: " + msg}
}

// explain turns a failed history request into the error a user needs:
// unknown repository, unknown tag, or a registry without the history API.
func (c *Client) explain(ctx context.Context, tag name.Tag, err error) error {
	var re *registry.Error
	if !errors.As(err, &re) {
		return err
	}
	switch {
	case re.HasCode("NAME_UNKNOWN"):
		return c.notFound(tag, err)
	case re.HasCode("MANIFEST_UNKNOWN") || re.HasCode("TAG_UNKNOWN"):
		return fmt.Errorf("tag %q not found in %s: %w", tag.TagStr(), tag.Context(), err)
	case re.Status == http.StatusNotFound || re.Status == http.StatusMethodNotAllowed ||
		re.Status == http.StatusNotImplemented || re.Status == http.StatusBadRequest:
		// No registry error code: ask the registry whether the tag exists,
		// to tell an unknown tag from a missing history API.
		current, herr := c.Registry.Digest(ctx, tag)
		if herr != nil {
			var he *registry.Error
			if errors.As(herr, &he) && he.HasCode("NAME_UNKNOWN") {
				return c.notFound(tag, herr)
			}
			if errors.Is(herr, registry.ErrNotFound) {
				return fmt.Errorf("tag %q not found in %s: %w", tag.TagStr(), tag.Context(), herr)
			}
			return herr
		}
		return &NotSupportedError{Tag: tag, Current: current}
	}
	return err
}

// notFound reports an unknown repository; registries hide private
// repositories from anonymous clients this way, so say so then.
func (c *Client) notFound(tag name.Tag, err error) error {
	if c.Registry.Describe(tag.RegistryStr()).Anonymous() {
		return fmt.Errorf("repository %s not found (if it is private, run `docker login %s` or configure a credential helper): %w",
			tag.Context(), tag.RegistryStr(), err)
	}
	return fmt.Errorf("repository %s not found: %w", tag.Context(), err)
}

// ResolvePlatforms fills each entry's Platforms, fetching manifests
// concurrently (cached on disk by digest, so a second run fetches none);
// a manifest repo lacks is read from the first fallback that has it.
func (c *Client) ResolvePlatforms(ctx context.Context, repo name.Repository, entries []Entry, fallback ...name.Repository) error {
	jobs := c.Jobs
	if jobs <= 0 {
		jobs = 16
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for i := range entries {
		g.Go(func() error {
			ps, err := c.Registry.Platforms(gctx, repo, entries[i].Digest)
			for _, fb := range fallback {
				if !errors.Is(err, registry.ErrNotFound) {
					break
				}
				ps, err = c.Registry.Platforms(gctx, fb, entries[i].Digest)
			}
			if err != nil {
				return fmt.Errorf("resolve platforms of %s: %w", entries[i].Digest, err)
			}
			entries[i].Platforms = ps
			return nil
		})
	}
	return g.Wait()
}

// Request says which builds of a tag to list.
type Request struct {
	Query
	// Last keeps the N most recent builds (0: all).
	Last int
	// Platforms resolves each build's per-platform images.
	Platforms bool
	// Platform keeps only that platform's images, and the builds that have
	// one (implies Platforms).
	Platform *v1.Platform
	// Upstream, for a tag of a pull-through cache (which has no history
	// API), is the tag it mirrors: the history comes from there, and
	// manifests the mirror lacks too.
	Upstream *name.Tag
}

// Builds is a tag's history as a request asked for it.
type Builds struct {
	// All is every build in the query's window, newest first; Entries
	// the ones asked for (the first Last of All).
	All, Entries []Entry
	// Unsupported is set when the registry has no history API: Entries
	// then holds the tag's current digest only, without a time.
	Unsupported *NotSupportedError
}

// Builds lists a tag's builds: the history, the most recent Last, and
// with Platforms or Platform each build's platform images.
func (c *Client) Builds(ctx context.Context, tag name.Tag, req Request) (*Builds, error) {
	from := tag
	var fallback []name.Repository
	if req.Upstream != nil {
		from, fallback = *req.Upstream, []name.Repository{req.Upstream.Context()}
	}
	all, err := c.List(ctx, from, req.Query)
	var ns *NotSupportedError
	if errors.As(err, &ns) {
		return &Builds{Entries: []Entry{{Digest: ns.Current}}, Unsupported: ns}, nil
	}
	if err != nil {
		return nil, err
	}
	b := &Builds{All: all, Entries: all}
	if req.Last > 0 && len(all) > req.Last {
		b.Entries = all[:req.Last]
	}
	if !req.Platforms && req.Platform == nil {
		return b, nil
	}
	b.Entries = slices.Clone(b.Entries)
	if err := c.ResolvePlatforms(ctx, tag.Context(), b.Entries, fallback...); err != nil {
		return nil, err
	}
	if req.Platform != nil {
		for i := range b.Entries {
			b.Entries[i].Platforms = slices.DeleteFunc(b.Entries[i].Platforms, func(p registry.Platform) bool { return !p.Platform.Satisfies(*req.Platform) })
		}
		b.Entries = slices.DeleteFunc(b.Entries, func(e Entry) bool { return len(e.Platforms) == 0 })
	}
	return b, nil
}

// ParseQuery reads --since and --until (see ParseTime); either may be "".
func ParseQuery(since, until string, now time.Time) (Query, error) {
	var q Query
	var err error
	if since != "" {
		if q.Since, err = ParseTime(since, now); err != nil {
			return Query{}, fmt.Errorf("--since: %w", err)
		}
	}
	if until != "" {
		if q.Until, err = ParseTime(until, now); err != nil {
			return Query{}, fmt.Errorf("--until: %w", err)
		}
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Since.After(q.Until) {
		return Query{}, fmt.Errorf("--since (%s) is after --until (%s)", q.Since.Format(time.RFC3339), q.Until.Format(time.RFC3339))
	}
	return q, nil
}
