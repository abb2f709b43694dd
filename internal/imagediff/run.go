package imagediff

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/inventory"
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker-cghistory/docker-cghistory/internal/vuln"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"
)

// Differ resolves two image references and compares them.
type Differ struct {
	Registry  *registry.Client
	History   *history.Client
	Inventory *inventory.Fetcher
	SecDB     *vuln.Loader
	// Refs reads references as for cghistory (bare names expanded).
	Refs ref.Options
	// Mirrors maps pull-through caches to their upstreams: a mirror's tag
	// is resolved (and IMAGE~N counted) upstream; manifests and blobs are
	// read from the mirror.
	Mirrors ref.MirrorMap

	images singleflight.Group // one resolution and inventory per image and options
	mu     sync.Mutex
	done   map[string]Image // images resolved this run, by sharedImage's key
}

// Options say what to compare and how.
type Options struct {
	Platform v1.Platform
	// PlatformSet says the user chose the platform; otherwise a
	// single-platform image of another platform is accepted.
	PlatformSet bool
	Source      string   // auto, sbom, layers
	Types       []string // package types to keep ("all": every type)
	Vulns       string   // secdb, grype, none
	SecDBURL    string   // overrides the distro's secdb
	Grype       func(ctx context.Context, ref string) ([]vuln.Finding, error)
}

// Resolve turns "IMAGE[:TAG|@DIGEST][~N]" into a digest reference:
// ~N is the build N steps before the tag's current one (tag history API).
func (d *Differ) Resolve(ctx context.Context, s string) (name.Digest, error) {
	base, back, err := ref.Relative(s)
	if err != nil {
		return name.Digest{}, err
	}
	r, err := d.Refs.Parse(base)
	if err != nil {
		return name.Digest{}, err
	}
	repo := r.Context()
	if dg, ok := r.(name.Digest); ok {
		if back > 0 {
			return name.Digest{}, fmt.Errorf("%s: ~N needs a tag, not a digest", s)
		}
		return dg, nil
	}
	tag := r.(name.Tag)
	if up, ok := d.Mirrors.Upstream(repo); ok {
		tag = up.Tag(tag.TagStr()) // the mirror serves the same digests
	}
	if back == 0 {
		h, err := d.Registry.Digest(ctx, tag)
		if err != nil {
			return name.Digest{}, fmt.Errorf("resolve %s: %w", tag, err)
		}
		return repo.Digest(h.String()), nil
	}
	entries, err := d.History.List(ctx, tag, history.Query{})
	if err != nil {
		return name.Digest{}, fmt.Errorf("resolve %s: %w", s, err)
	}
	if back >= len(entries) {
		return name.Digest{}, fmt.Errorf("%s: %s has only %d builds in its history", s, tag, len(entries))
	}
	return repo.Digest(entries[back].Digest.String()), nil
}

// Diff compares from (previous) with to (current). Without to, from is
// the current build: "nginx" compares nginx~1 with nginx, "nginx~3" compares
// nginx~3 with nginx.
func (d *Differ) Diff(ctx context.Context, from, to string, opts Options) (*Result, error) {
	if to == "" {
		base, back, err := ref.Relative(from)
		if err != nil {
			return nil, err
		}
		if back == 0 {
			from = base + "~1"
		}
		to = base
	}
	return d.diff(ctx, from, to, opts)
}

func (d *Differ) diff(ctx context.Context, from, to string, opts Options) (*Result, error) {
	var imgs [2]Image
	// No cancelling the other side when one fails: images are shared
	// between comparisons (sharedImage), and another comparison may still
	// need the one in flight.
	var g errgroup.Group
	for i, s := range []string{from, to} {
		g.Go(func() error {
			img, err := d.sharedImage(ctx, s, opts)
			if err != nil {
				return err
			}
			imgs[i] = img
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	warnings, err := d.findings(ctx, &imgs, opts)
	if err != nil {
		return nil, err
	}
	r := Compare(imgs[0], imgs[1])
	r.VulnsChecked = opts.Vulns != "none" && len(warnings) == 0
	for _, img := range imgs {
		if img.Inventory.Warning != "" {
			warnings = append(warnings, img.Ref+": "+img.Inventory.Warning)
		}
	}
	r.Warnings = warnings
	return r, nil
}

// findings fills both images' vulnerability findings; problems with the
// secdb become warnings, as the package diff stands without it.
func (d *Differ) findings(ctx context.Context, imgs *[2]Image, opts Options) ([]string, error) {
	switch opts.Vulns {
	case "none":
		return nil, nil
	case "grype":
		if opts.Grype == nil {
			return nil, errors.New("--vulns grype: grype is not available")
		}
		for i := range imgs {
			if imgs[i].Findings != nil {
				continue
			}
			f, err := opts.Grype(ctx, imgs[i].Ref)
			if err != nil {
				return nil, err
			}
			imgs[i].Findings = f
		}
		return nil, nil
	}
	return d.secdbFindings(ctx, imgs, opts)
}

func (d *Differ) secdbFindings(ctx context.Context, imgs *[2]Image, opts Options) ([]string, error) {
	inv := imgs[1].Inventory
	if inv.Distro == "" {
		inv = imgs[0].Inventory
	}
	urls := vuln.URLs(inv.Distro, inv.DistroVersion)
	if opts.SecDBURL != "" {
		urls = []string{opts.SecDBURL}
	}
	if len(urls) == 0 {
		if !hasType(imgs, "apk") {
			return []string{"vulnerabilities not checked: the secdb covers apk-based images; use --vulns grype"}, nil
		}
		return []string{fmt.Sprintf("vulnerabilities not checked: no known secdb for distro %q; pass --secdb URL", inv.Distro)}, nil
	}
	db := &vuln.SecDB{Fixes: map[string]map[string][]string{}}
	var warnings []string
	for _, url := range urls {
		part, err := d.SecDB.Load(ctx, url)
		if errors.Is(err, vuln.ErrMalformed) {
			return nil, err // a broken database is an error, not a warning
		}
		if err != nil {
			return []string{fmt.Sprintf("vulnerabilities not checked: %v", err)}, nil
		}
		if stale := d.SecDB.Stale(url); stale != nil {
			warnings = append(warnings, fmt.Sprintf("using the cached security database: fetching %s failed: %v", url, stale))
		}
		db.Merge(part)
	}
	for i := range imgs {
		imgs[i].Findings = db.Affected(imgs[i].Inventory.Packages)
	}
	return warnings, nil
}

func hasType(imgs *[2]Image, typ string) bool {
	for _, img := range imgs {
		for _, p := range img.Inventory.Packages {
			if p.Type == typ {
				return true
			}
		}
	}
	return false
}

// sharedImage is image, once per image and options however many
// comparisons ask for it at the same time. The Image returned is a copy
// whose slices the caller may not modify.
func (d *Differ) sharedImage(ctx context.Context, s string, opts Options) (Image, error) {
	key := fmt.Sprintf("%s %s %v %s %v", s, opts.Platform.String(), opts.PlatformSet, opts.Source, opts.Types)
	d.mu.Lock()
	img, ok := d.done[key]
	d.mu.Unlock()
	if ok {
		return img, nil
	}
	v, err, _ := d.images.Do(key, func() (any, error) {
		img, err := d.image(ctx, s, opts)
		if err == nil {
			d.mu.Lock()
			if d.done == nil {
				d.done = map[string]Image{}
			}
			d.done[key] = img
			d.mu.Unlock()
		}
		return img, err
	})
	if err != nil {
		return Image{}, err
	}
	return v.(Image), nil
}

// image resolves one side: its platform image, size, config and inventory.
func (d *Differ) image(ctx context.Context, s string, opts Options) (Image, error) {
	dg, err := d.Resolve(ctx, s)
	if err != nil {
		return Image{}, err
	}
	repo := dg.Context()
	h, _ := v1.NewHash(dg.DigestStr())
	ps, err := d.Registry.Platforms(ctx, repo, h)
	if err != nil {
		return Image{}, fmt.Errorf("%s: %w", s, err)
	}
	var chosen *registry.Platform
	for i := range ps {
		if ps[i].Platform.Satisfies(opts.Platform) {
			chosen = &ps[i]
			break
		}
	}
	if chosen == nil && len(ps) == 1 && !opts.PlatformSet {
		chosen = &ps[0]
	}
	if chosen == nil {
		var have []string
		for _, p := range ps {
			have = append(have, p.Platform.String())
		}
		return Image{}, fmt.Errorf("%s has no %s image (it has %s); choose one with --platform", s, opts.Platform.String(), strings.Join(have, ", "))
	}
	img := Image{Ref: repo.Digest(chosen.Digest.String()).String(), Digest: chosen.Digest, Platform: chosen.Platform, Size: chosen.Size}
	m, err := d.Registry.ImageManifest(ctx, repo, chosen.Digest)
	if err != nil {
		return Image{}, fmt.Errorf("%s: %w", s, err)
	}
	cf, err := d.Registry.Config(ctx, repo, m)
	if err != nil {
		return Image{}, fmt.Errorf("%s: %w", s, err)
	}
	img.Config = &cf.Config
	inv, err := d.Inventory.Fetch(ctx, repo, chosen.Digest, opts.Source)
	if err != nil {
		return Image{}, fmt.Errorf("%s: %w", s, err)
	}
	cp := *inv
	cp.Packages = append([]inventory.Package(nil), inv.Packages...)
	types := opts.Types
	if len(types) == 0 {
		types = inventory.OSTypes
	}
	cp.Filter(types)
	img.Inventory = &cp
	return img, nil
}
