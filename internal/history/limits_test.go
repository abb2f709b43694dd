package history_test

import (
	"context"
	"errors"
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
// memory; before, it was read until memory ran out (4.4 GB). Both limits
// are lowered to keep the test short.
func TestEndlessHistoryIsBounded(t *testing.T) {
	s := registrytest.New(t)
	s.Push(t, "chainguard/nginx", "latest", t0)
	for _, tc := range []struct {
		name       string
		fresh      int
		maxRecords int
		maxPages   int
		wantPages  int64
		inErr      string
	}{
		// 10,000 records rather than the default 100,000: JSON under -race
		// is slow. TestHostileRegistriesThroughDocker meets the default.
		{"always new records", 1000, 10_000, 0, 11, "more than 10000 records, the limit per tag"},
		{"one new record a page", 1, 0, 20, 20, "more than 20 pages, the limit per tag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pages atomic.Int64
			s.OverrideHistory(registrytest.EndlessHistory(tc.fresh, &pages))
			defer s.OverrideHistory(nil)
			c := newClient(t, t.TempDir(), `{}`, nil)
			c.MaxRecords, c.MaxPages = tc.maxRecords, tc.maxPages
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
