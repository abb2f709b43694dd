package imagediff

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"
)

// Summary is a one-line account of a comparison, like a changelog entry:
// "openssl 3.4.0-r0→3.4.0-r1 (fixes CVE-2024-0001), +libxml2, -busybox".
func (r *Result) Summary() string {
	var parts []string
	for _, c := range r.Changed {
		s := fmt.Sprintf("%s %s→%s", c.Current.Name, c.Previous.Version, c.Current.Version)
		if !c.Upgrade {
			s += " (downgrade)"
		}
		if ids := r.FixedBy(c); len(ids) > 0 {
			s += " (fixes " + strings.Join(ids, ", ") + ")"
		}
		parts = append(parts, s)
	}
	for _, p := range r.Added {
		parts = append(parts, "+"+p.Name)
	}
	for _, p := range r.Removed {
		parts = append(parts, "-"+p.Name)
	}
	if len(r.VulnsAdded) > 0 {
		ids := make([]string, 0, len(r.VulnsAdded))
		for _, f := range r.VulnsAdded {
			ids = append(ids, f.ID)
		}
		parts = append(parts, "introduces "+strings.Join(ids, ", "))
	}
	if len(parts) == 0 {
		if len(r.Config) > 0 {
			return "config changed"
		}
		return "no package changes"
	}
	return strings.Join(parts, ", ")
}

// Chain compares each build with the one before it: refs are newest first,
// and the result i compares refs[i+1] (previous) with refs[i] (current).
// Every image is resolved and inventoried once, concurrently.
func (d *Differ) Chain(ctx context.Context, refs []string, opts Options) ([]*Result, error) {
	imgs := make([]Image, len(refs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, s := range refs {
		g.Go(func() error {
			img, err := d.image(gctx, s, opts)
			imgs[i] = img
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var out []*Result
	for i := 0; i+1 < len(imgs); i++ {
		pair := [2]Image{imgs[i+1], imgs[i]}
		warnings, err := d.findings(ctx, &pair, opts)
		if err != nil {
			return nil, err
		}
		r := Compare(pair[0], pair[1])
		r.Warnings = warnings
		r.VulnsChecked = opts.Vulns != "none" && len(warnings) == 0
		out = append(out, r)
	}
	return out, nil
}
