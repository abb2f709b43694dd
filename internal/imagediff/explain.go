package imagediff

import (
	"context"
	"errors"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/sync/errgroup"
)

// Pair is two builds of an image to compare: From (previous) and To.
type Pair struct {
	From, To name.Digest
}

// Explanation is what a comparison found, or why it could not be made.
// The zero value explains nothing (a first pin has nothing to compare).
type Explanation struct {
	Result *Result
	Err    error
}

// ErrFirstBuild says a build has no build before it to compare with.
var ErrFirstBuild = errors.New("first build in the history")

// Explain compares each pair (a nil pair explains nothing) and returns the
// explanations in the same order. Each distinct pair is compared once,
// however often it occurs, and each image is inventoried once (the Differ
// shares its images between comparisons, in flight through singleflight
// and after). A pair that cannot be compared gets its error; the others are
// still compared. Only a cancelled ctx fails the call.
func (d *Differ) Explain(ctx context.Context, pairs []*Pair, opts Options) ([]Explanation, error) {
	index := map[Pair]int{} // distinct pair → its slot in results
	var distinct []Pair
	for _, p := range pairs {
		if p == nil {
			continue
		}
		if _, ok := index[*p]; !ok {
			index[*p] = len(distinct)
			distinct = append(distinct, *p)
		}
	}
	results := make([]Explanation, len(distinct))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, p := range distinct {
		g.Go(func() error {
			r, err := d.diff(gctx, p.From.String(), p.To.String(), opts)
			if gctx.Err() != nil {
				return gctx.Err()
			}
			results[i] = Explanation{Result: r, Err: err}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make([]Explanation, len(pairs))
	for i, p := range pairs {
		if p != nil {
			out[i] = results[index[*p]]
		}
	}
	return out, nil
}

// Changelog explains each of the first n builds of a tag's history
// (newest first) against the build before it, as `chainctl images
// changelog` does. The oldest build of the whole history gets
// ErrFirstBuild.
func (d *Differ) Changelog(ctx context.Context, repo name.Repository, builds []history.Entry, n int, opts Options) ([]Explanation, error) {
	n = min(n, len(builds))
	pairs := make([]*Pair, n)
	for i := range pairs {
		if i+1 < len(builds) {
			pairs[i] = &Pair{From: repo.Digest(builds[i+1].Digest.String()), To: repo.Digest(builds[i].Digest.String())}
		}
	}
	out, err := d.Explain(ctx, pairs, opts)
	if err != nil {
		return nil, err
	}
	if n > 0 && n == len(builds) {
		out[n-1].Err = ErrFirstBuild
	}
	return out, nil
}
