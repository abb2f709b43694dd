package registrytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// serveHistory answers GET /v2/<repo>/_chainguard/history/<tag> as cgr.dev
// does: bearer auth with pull scope, oldest first, optional start/end
// filters, at most limit records.
func (s *Server) serveHistory(w http.ResponseWriter, r *http.Request, repo, tag string) {
	if s.noHistory {
		s.app.ServeHTTP(w, r) // what a registry without the API answers
		return
	}
	c, err := s.bearerClaims(r)
	if err != nil || !c.allows(repo, "pull") {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(
			`Bearer realm=%q,service=%q,scope="repository:%s:pull"`, s.URL+"/token", s.Host, repo))
		writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return
	}
	s.mu.Lock()
	hook := s.historyHook
	known := s.repos[repo]
	entries := append([]HistoryEntry(nil), s.history[repo+":"+tag]...)
	s.mu.Unlock()
	if hook != nil {
		hook(w, r)
		return
	}
	if !known {
		writeError(w, http.StatusNotFound, "NAME_UNKNOWN", "repository name not known to registry")
		return
	}
	if len(entries) == 0 {
		writeError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
		return
	}
	var start, end time.Time
	for _, p := range []struct {
		key string
		t   *time.Time
	}{{"start", &start}, {"end", &end}} {
		if v := r.URL.Query().Get(p.key); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				writeError(w, http.StatusBadRequest, "INVALID", "bad "+p.key)
				return
			}
			*p.t = t
		}
	}
	slices.SortStableFunc(entries, func(a, b HistoryEntry) int { return a.At.Compare(b.At) })
	if s.newest {
		slices.Reverse(entries)
	}
	var out []map[string]string
	tsKey, digestKey := "updateTimestamp", "digest"
	if s.legacy {
		tsKey, digestKey = "UpdateTimestamp", "Digest"
	}
	for _, e := range entries {
		if (!start.IsZero() && e.At.Before(start)) || (!end.IsZero() && e.At.After(end)) {
			continue
		}
		if len(out) == s.limit {
			break
		}
		out = append(out, map[string]string{tsKey: e.At.UTC().Format(time.RFC3339Nano), digestKey: e.Digest})
	}
	if out == nil {
		out = []map[string]string{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"history": out})
}
