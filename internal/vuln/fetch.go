package vuln

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/docker-cghistory/docker-cghistory/internal/registry"
)

// Loader downloads security databases, caching them on disk and
// revalidating with conditional requests (ETag / Last-Modified).
type Loader struct {
	HTTP  *http.Client
	Cache registry.DiskCache

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

type cachedDB struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
	Body         []byte `json:"body"`
}

// Load returns the secdb at url (fetched at most once per run).
func (l *Loader) Load(ctx context.Context, url string) (*SecDB, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if db, ok := l.loaded[url]; ok {
		return db, nil
	}
	db, err := l.load(ctx, url)
	if err == nil {
		if l.loaded == nil {
			l.loaded = map[string]*SecDB{}
		}
		l.loaded[url] = db
	}
	return db, err
}

func (l *Loader) load(ctx context.Context, url string) (*SecDB, error) {
	var cached cachedDB
	key := "secdb-" + registryKey(url)
	have := l.Cache.Get("secdb", key, &cached) && len(cached.Body) > 0
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("secdb %s: %w", url, err)
	}
	if have {
		if cached.ETag != "" {
			req.Header.Set("If-None-Match", cached.ETag)
		}
		if cached.LastModified != "" {
			req.Header.Set("If-Modified-Since", cached.LastModified)
		}
	}
	resp, err := l.HTTP.Do(req)
	if err == nil && resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotModified {
		resp.Body.Close()
		err = fmt.Errorf("%s", resp.Status)
	}
	if err != nil {
		if have { // better a day-old database than none: say so
			if l.stale == nil {
				l.stale = map[string]error{}
			}
			l.stale[url] = err
			return ParseSecDB(bytes.NewReader(cached.Body))
		}
		return nil, fmt.Errorf("fetch secdb %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && have {
		return ParseSecDB(bytes.NewReader(cached.Body))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSecDB+1))
	if err != nil {
		return nil, fmt.Errorf("fetch secdb %s: %w", url, err)
	}
	db, err := ParseSecDB(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("secdb %s: %w", url, err)
	}
	_ = l.Cache.Put("secdb", key, cachedDB{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"), Body: body})
	return db, nil
}

func registryKey(url string) string {
	var b bytes.Buffer
	for _, r := range url {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
