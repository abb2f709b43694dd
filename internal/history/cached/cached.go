// Package cached reads and writes the tag histories and repository names
// that earlier runs kept for completion and hints. It is apart from
// package history (the Tag History API client) so that the hot paths
// docker runs on its own (the build hook, completion) read the cache
// without linking an HTTP client.
package cached

import (
	"slices"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Entry is one update of a tag, as kept in the cache.
type Entry struct {
	Digest    v1.Hash
	UpdatedAt time.Time
}

// entry is an Entry as the cache stores it.
type entry struct {
	Digest    string    `json:"digest"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Remember keeps tag's whole history, and its repository's name.
func Remember(c *cache.Cache, tag name.Tag, entries []Entry) {
	out := make([]entry, len(entries))
	for i, e := range entries {
		out[i] = entry{Digest: e.Digest.String(), UpdatedAt: e.UpdatedAt}
	}
	_ = c.PutJSON("history", cache.Key(tag.Name()), out)
	RememberName(c, tag.Context().Name())
}

// History returns the history last kept for tag, without the network.
func History(c *cache.Cache, tag name.Tag) ([]Entry, bool) {
	var in []entry
	if !c.GetJSON("history", cache.Key(tag.Name()), &in) {
		return nil, false
	}
	out := make([]Entry, 0, len(in))
	for _, e := range in {
		if d, err := v1.NewHash(e.Digest); err == nil {
			out = append(out, Entry{Digest: d, UpdatedAt: e.UpdatedAt})
		}
	}
	return out, true
}

// maxNames bounds the remembered repository names.
const maxNames = 500

// RememberName adds a repository to the names completion offers, most
// recent first.
func RememberName(c *cache.Cache, repo string) {
	names := Names(c)
	names = slices.DeleteFunc(names, func(n string) bool { return n == repo })
	names = append([]string{repo}, names...)
	if len(names) > maxNames {
		names = names[:maxNames]
	}
	_ = c.PutJSON("completion", "names", names)
}

// Names are the repositories remembered, most recent first.
func Names(c *cache.Cache) []string {
	var names []string
	c.GetJSON("completion", "names", &names)
	return names
}
