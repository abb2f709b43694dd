package history_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
)

// A registry whose history never ends (always a full page of new records)
// or creeps on a record per page is stopped at the records or the pages
// limit, with an error naming the registry and the limit, in bounded
// memory; before, it was read until memory ran out (4.4 GB). The records
// limit is the default one; the pages limit is lowered to keep the test short.
func TestEndlessHistoryIsBounded(t *testing.T) {
	s := registrytest.New(t)
	s.Push(t, "chainguard/nginx", "latest", t0)
	for _, tc := range []struct {
		name      string
		fresh     int
		maxPages  int
		wantPages int64
		inErr     string
	}{
		{"always new records", 1000, 0, history.DefaultMaxRecords/1000 + 1, fmt.Sprintf("more than %d records, the limit per tag", history.DefaultMaxRecords)},
		{"one new record a page", 1, 20, 20, "more than 20 pages, the limit per tag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pages atomic.Int64
			s.OverrideHistory(registrytest.EndlessHistory(tc.fresh, &pages))
			defer s.OverrideHistory(nil)
			c := newClient(t, t.TempDir(), `{}`, nil)
			c.MaxPages = tc.maxPages
			var err error
			peak := registrytest.PeakHeap(func() {
				_, err = c.List(context.Background(), tag(t, s.Ref("chainguard/nginx", "latest")), history.Query{})
			})
			if !errors.Is(err, registry.ErrTooLarge) || !strings.Contains(err.Error(), tc.inErr) || !strings.Contains(err.Error(), s.Host+"/chainguard/nginx") {
				t.Fatalf("err = %v\nwant ErrTooLarge naming %s and %q", err, s.Host, tc.inErr)
			}
			if got := pages.Load(); got != tc.wantPages {
				t.Errorf("served %d pages, want %d", got, tc.wantPages)
			}
			if peak > 128<<20 {
				t.Errorf("peak heap grew by %d MiB", peak>>20)
			}
		})
	}
}
