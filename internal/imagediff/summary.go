package imagediff

import (
	"context"
	"errors"
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
// and result i compares refs[i+1] (previous) with refs[i] (current). Every
// image is resolved and inventoried once, concurrently. A pair that cannot
// be compared (an image without packages, a build deleted since) has a nil
// result and its error in errs; the others are still compared.
func (d *Differ) Chain(ctx context.Context, refs []string, opts Options) (results []*Result, errs []error) {
	imgs := make([]Image, len(refs))
	imgErrs := make([]error, len(refs))
	var g errgroup.Group
	g.SetLimit(8)
	for i, s := range refs {
		g.Go(func() error {
			imgs[i], imgErrs[i] = d.image(ctx, s, opts)
			return nil
		})
	}
	_ = g.Wait()
	for i := 0; i+1 < len(imgs); i++ {
		if err := errors.Join(imgErrs[i], imgErrs[i+1]); err != nil {
			results, errs = append(results, nil), append(errs, err)
			continue
		}
		pair := [2]Image{imgs[i+1], imgs[i]}
		warnings, err := d.findings(ctx, &pair, opts)
		if err != nil {
			results, errs = append(results, nil), append(errs, err)
			continue
		}
		r := Compare(pair[0], pair[1])
		r.Warnings = warnings
		r.VulnsChecked = opts.Vulns != "none" && len(warnings) == 0
		results, errs = append(results, r), append(errs, nil)
	}
	return results, errs
}
