package vuln

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"golang.org/x/sync/singleflight"
)

// Loader downloads security databases, caching them on disk (the body as
// a raw file, its validators beside it) and revalidating with conditional
// requests (ETag / Last-Modified).
type Loader struct {
	HTTP  *http.Client
	Cache *cache.Cache // nil: no disk cache

	flight singleflight.Group // one download per URL at a time
	mu     sync.Mutex
	loaded map[string]*SecDB // this run's databases, by URL
	stale  map[string]error  // URLs served from the cache because fetching failed
}

// Stale says why the database at url came from the cache, if it did.
func (l *Loader) Stale(url string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stale[url]
}

// validators are what a conditional request sends back.
type validators struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
}

// Load returns the secdb at url (fetched at most once per run; concurrent
// callers share one download, and no lock is held while it runs).
func (l *Loader) Load(ctx context.Context, url string) (*SecDB, error) {
	l.mu.Lock()
	db, ok := l.loaded[url]
	l.mu.Unlock()
	if ok {
		return db, nil
	}
	v, err, _ := l.flight.Do(url, func() (any, error) {
		db, stale, err := l.load(ctx, url)
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.loaded == nil {
			l.loaded, l.stale = map[string]*SecDB{}, map[string]error{}
		}
		l.loaded[url] = db
		if stale != nil {
			l.stale[url] = stale
		}
		return db, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*SecDB), nil
}

// load fetches url, revalidating a cached copy; when fetching fails and a
// copy is cached, it is used and the failure returned as stale.
func (l *Loader) load(ctx context.Context, url string) (db *SecDB, stale, err error) {
	key := cache.Key(url)
	cached, have := l.Cache.Get("secdb", key)
	var val validators
	have = have && len(cached) > 0 && l.Cache.GetJSON("secdb-validators", key, &val)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("secdb %s: %w", url, err)
	}
	if have {
		if val.ETag != "" {
			req.Header.Set("If-None-Match", val.ETag)
		}
		if val.LastModified != "" {
			req.Header.Set("If-Modified-Since", val.LastModified)
		}
	}
	resp, err := l.HTTP.Do(req)
	if err == nil && resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotModified {
		resp.Body.Close()
		err = fmt.Errorf("%s", resp.Status)
	}
	if err != nil {
		if have { // better a day-old database than none: say so
			db, perr := ParseSecDB(bytes.NewReader(cached))
			return db, err, perr
		}
		return nil, nil, fmt.Errorf("fetch secdb %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && have {
		db, err := ParseSecDB(bytes.NewReader(cached))
		if err != nil { // a damaged cache entry: fetch the database afresh
			l.Cache.Remove("secdb", key)
			l.Cache.Remove("secdb-validators", key)
			return l.load(ctx, url)
		}
		return db, nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSecDB+1))
	if err != nil {
		return nil, nil, fmt.Errorf("fetch secdb %s: %w", url, err)
	}
	db, err = ParseSecDB(bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("secdb %s: %w", url, err)
	}
	if l.Cache.Put("secdb", key, body) == nil {
		_ = l.Cache.PutJSON("secdb-validators", key, validators{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")})
	}
	return db, nil, nil
}
