package registry

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/docker/go-units"
	"github.com/google/go-containerregistry/pkg/name"
)

// Tags lists the repository's tags, following Link headers, within the
// MaxTags, MaxTagPages and MaxTagPageBytes options. Written here rather
// than with remote.List, which follows Link headers without end and
// decodes pages of any size: each page is read through a bounded reader
// and the pages and tags are counted.
func (c *Client) Tags(ctx context.Context, repo name.Repository) ([]string, error) {
	hc, err := c.HTTPClient(ctx, repo)
	if err != nil {
		return nil, err
	}
	maxTags, maxPages, maxBytes := cmp.Or(c.opts.MaxTags, DefaultMaxTags), cmp.Or(c.opts.MaxTagPages, DefaultMaxTagPages), cmp.Or(c.opts.MaxTagPageBytes, DefaultMaxTagPageBytes)
	tooLarge := func(limit string) error {
		return &Error{Kind: ErrTooLarge, Host: repo.RegistryStr(), Repo: repo.RepositoryStr(), Subject: "the tag list", Err: errors.New(limit)}
	}
	// Pages of up to TagPageSize tags (registries clamp n to their own bound
	// and page on with Link headers).
	next := &url.URL{Scheme: repo.Scheme(), Host: repo.RegistryStr(), Path: fmt.Sprintf("/v2/%s/tags/list", repo.RepositoryStr()),
		RawQuery: fmt.Sprintf("n=%d", TagPageSize)}
	var tags []string
	for pages := 1; next != nil; pages++ {
		if pages > maxPages {
			return nil, tooLarge(fmt.Sprintf("more than %d pages, the limit", maxPages))
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, next.String(), nil)
		if err != nil {
			return nil, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, RequestError(repo.RegistryStr(), err)
		}
		if err := c.CheckResponse(resp, repo); err != nil {
			return nil, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
		resp.Body.Close()
		if err != nil {
			return nil, RequestError(repo.RegistryStr(), err)
		}
		if int64(len(body)) > maxBytes {
			return nil, tooLarge(fmt.Sprintf("a page larger than %s, the limit per page", units.BytesSize(float64(maxBytes))))
		}
		var page struct {
			Tags []string `json:"tags"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, &Error{Kind: ErrBadResponse, Host: repo.RegistryStr(), Repo: repo.RepositoryStr(), Err: fmt.Errorf("malformed tag list: %w", err)}
		}
		if len(tags)+len(page.Tags) > maxTags {
			return nil, tooLarge(fmt.Sprintf("more than %d tags, the limit", maxTags))
		}
		tags = append(tags, page.Tags...)
		if next, err = nextPage(next, resp.Header.Get("Link")); err != nil {
			return nil, &Error{Kind: ErrBadResponse, Host: repo.RegistryStr(), Repo: repo.RepositoryStr(), Err: err}
		}
	}
	return tags, nil
}

// TagPageSize is the page size Tags asks for (n): ECR's largest page.
const TagPageSize = 1000

// nextPage reads the next page's URL from a Link header (RFC 8288, as the
// distribution spec uses it), relative to the page just read; it must stay
// on the same registry.
func nextPage(cur *url.URL, link string) (*url.URL, error) {
	if link == "" {
		return nil, nil
	}
	target, _, _ := strings.Cut(link, ";")
	target = strings.TrimSpace(target)
	if !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
		return nil, fmt.Errorf("malformed Link header %q", truncate(link, 100))
	}
	u, err := cur.Parse(target[1 : len(target)-1])
	if err != nil {
		return nil, fmt.Errorf("malformed Link header: %w", err)
	}
	if u.Host != cur.Host {
		return nil, fmt.Errorf("the next page of the tag list is on another host (%s)", truncate(u.Host, 100))
	}
	return u, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
