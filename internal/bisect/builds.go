package bisect

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Build is one build of the tag: the digest the tag pointed to, when, and
// the digest tested (the platform's image with a platform, else Digest).
type Build struct {
	Digest    v1.Hash
	UpdatedAt time.Time
	Tested    v1.Hash
}

// Sequence is a tag's history as bisect reads it: distinct digests, oldest
// first, each at its first appearance (a tag that moved back to an old
// build does not make it a new one).
func Sequence(entries []history.Entry) []Build {
	entries = slices.Clone(entries)
	slices.SortStableFunc(entries, func(a, b history.Entry) int { return a.UpdatedAt.Compare(b.UpdatedAt) })
	seen := map[v1.Hash]bool{}
	var out []Build
	for _, e := range entries {
		if seen[e.Digest] {
			continue
		}
		seen[e.Digest] = true
		out = append(out, Build{Digest: e.Digest, UpdatedAt: e.UpdatedAt, Tested: e.Digest})
	}
	return out
}

// Locate finds the build spec names in seq, the Sequence of entries
// (the history, newest first): a digest ("sha256:…", or anything ending in
// "@sha256:…"), "~N" or "IMAGE~N" (N updates before the current one, as
// cgdiff and cghistory count them), or a time (RFC 3339, a date, an age
// such as "7d": the build current then). what names the flag in errors.
func Locate(seq []Build, entries []history.Entry, spec, what string, now time.Time) (int, error) {
	if len(seq) == 0 || len(entries) == 0 {
		return 0, fmt.Errorf("%s %s: the tag has no history", what, spec)
	}
	at := func(d v1.Hash) int {
		return slices.IndexFunc(seq, func(b Build) bool { return b.Digest == d || b.Tested == d })
	}
	if i := strings.LastIndex(spec, "sha256:"); i >= 0 {
		h, err := v1.NewHash(spec[i:])
		if err != nil {
			return 0, fmt.Errorf("%s %s: %w", what, spec, err)
		}
		if j := at(h); j >= 0 {
			return j, nil
		}
		return 0, &NotInHistoryError{Flag: what, Digest: h}
	}
	if i := strings.LastIndex(spec, "~"); i >= 0 {
		n, err := strconv.Atoi(spec[i+1:])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%s %q: ~N must be a non-negative number of builds back", what, spec)
		}
		if n >= len(entries) {
			return 0, fmt.Errorf("%s %s: the tag has only %d builds in its history", what, spec, len(entries))
		}
		return at(entries[n].Digest), nil
	}
	t, err := history.ParseTime(spec, now)
	if err != nil {
		return 0, fmt.Errorf("%s: want a digest, IMAGE~N or a time: %w", what, err)
	}
	for _, e := range entries {
		if !e.UpdatedAt.After(t) {
			return at(e.Digest), nil
		}
	}
	return 0, fmt.Errorf("%s %s: the tag's history starts later, at %s", what, spec, seq[0].UpdatedAt.Format(time.RFC3339))
}

// NotInHistoryError is a digest that is not a build of the tag.
type NotInHistoryError struct {
	Flag   string
	Digest v1.Hash
	// OtherTag is set when the repository has the image: a build of
	// another tag (or one the history does not list).
	OtherTag bool
	Tag      string
}

func (e *NotInHistoryError) Error() string {
	if e.OtherTag {
		return fmt.Sprintf("%s %s is not in the history of %s: the repository has that image, so it is a build of another tag", e.Flag, e.Digest, e.Tag)
	}
	if e.Tag != "" {
		return fmt.Sprintf("%s %s is not in the history of %s", e.Flag, e.Digest, e.Tag)
	}
	return fmt.Sprintf("%s %s is not in the tag's history", e.Flag, e.Digest)
}
