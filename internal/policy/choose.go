// Package policy holds cgpin's update policies: move a pin only when the
// newer build changed something (--only-if-changed), move it to the oldest
// build that fixes named CVEs (--fixes), let a build that fixes a CVE through
// the cooldown (security-aware cooldown), and report how far pins are
// behind (--outdated). It judges builds by their inventories and the
// security database, through imagediff.
package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/imagediff"
	"github.com/docker-cghistory/docker-cghistory/internal/pin"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// What --only-if-changed asks of a newer build.
const (
	ChangedPackages = "packages" // any package added, removed or changed, or the config
	ChangedVulns    = "vulns"    // at least one CVE fixed
)

// Chooser implements pin.Chooser with the update policies.
type Chooser struct {
	Registry *registry.Client
	History  *history.Client
	Differ   *imagediff.Differ
	// Diff says how builds are compared (platform, package source, secdb).
	Diff imagediff.Options
	// Platform is --platform: pins are that platform's image digests.
	Platform *v1.Platform

	// Upstream maps a mirror's tag to the tag it mirrors (histories and
	// current builds are read there); nil: no mirrors.
	Upstream func(name.Tag) (name.Tag, bool)

	OnlyIfChanged  string        // "", ChangedPackages or ChangedVulns
	Fixes          []string      // --fixes CVE-IDs
	Cooldown       time.Duration // --cooldown, for the security bypass
	CooldownStrict bool          // --cooldown-strict: no bypass
}

// Choose implements pin.Chooser.
func (c *Chooser) Choose(ctx context.Context, tag name.Tag, pinned v1.Hash, cand pin.Resolution) (pin.Decision, error) {
	if len(c.Fixes) > 0 {
		return c.fixes(ctx, tag, pinned)
	}
	repo := c.up(tag).Context() // builds a mirror lacks are judged upstream (same digests)
	if c.Cooldown > 0 && !c.CooldownStrict {
		newest, err := c.current(ctx, tag)
		if err != nil {
			return pin.Decision{}, err
		}
		if newest != cand.Digest && newest != pinned {
			// A build that cannot be judged is simply not taken early.
			r, err := c.diff(ctx, repo, pinned, newest, true)
			if ctx.Err() != nil {
				return pin.Decision{}, ctx.Err()
			}
			if err == nil && len(Fixed(r)) > 0 {
				fixed := Fixed(r)
				return pin.Decision{Digest: newest, Reason: "fixes " + strings.Join(fixed, ", ") + " (taken within the cooldown)"}, nil
			}
		}
	}
	if cand.Digest == pinned || c.OnlyIfChanged == "" {
		return pin.Decision{Digest: cand.Digest}, nil
	}
	r, err := c.diff(ctx, repo, pinned, cand.Digest, c.OnlyIfChanged == ChangedVulns)
	if err != nil {
		return pin.Decision{}, err
	}
	switch c.OnlyIfChanged {
	case ChangedVulns:
		if fixed := Fixed(r); len(fixed) > 0 {
			return pin.Decision{Digest: cand.Digest, Reason: "fixes " + strings.Join(fixed, ", ")}, nil
		}
		return pin.Decision{Digest: pinned, Reason: "newer build fixes no CVE"}, nil
	default:
		if len(r.Added)+len(r.Removed)+len(r.Changed)+len(r.Config) > 0 {
			return pin.Decision{Digest: cand.Digest}, nil
		}
		return pin.Decision{Digest: pinned, Reason: "rebuild, same packages"}, nil
	}
}

// Fixed lists the CVEs a comparison fixes, once each, sorted.
func Fixed(r *imagediff.Result) []string {
	var ids []string
	for _, f := range r.VulnsRemoved {
		if !slices.Contains(ids, f.ID) {
			ids = append(ids, f.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// fixes moves a pin to the oldest build after it that fixes every named
// CVE the pinned build has; a pin without them stays.
func (c *Chooser) fixes(ctx context.Context, tag name.Tag, pinned v1.Hash) (pin.Decision, error) {
	builds, err := c.History.List(ctx, c.up(tag), history.Query{})
	if errors.Is(err, history.ErrNotSupported) {
		return pin.Decision{}, fmt.Errorf("--fixes needs the tag history API, which %s does not offer", tag.RegistryStr())
	}
	if err != nil {
		return pin.Decision{}, err
	}
	at := -1
	for i, b := range builds {
		d, err := c.build(ctx, c.up(tag).Context(), b.Digest)
		if err != nil {
			return pin.Decision{}, err
		}
		if d == pinned {
			at = i
			break
		}
	}
	if at < 0 {
		return pin.Decision{}, fmt.Errorf("the pinned build %s is not in the history of %s", pinned, tag)
	}
	repo := c.up(tag).Context()
	var present []string
	for j := at - 1; j >= 0; j-- { // oldest newer build first
		d, err := c.build(ctx, repo, builds[j].Digest)
		if err != nil {
			return pin.Decision{}, err
		}
		r, err := c.diff(ctx, repo, pinned, d, true)
		if err != nil {
			return pin.Decision{}, err
		}
		if present == nil {
			present = named(c.Fixes, r.From)
			if len(present) == 0 {
				return pin.Decision{Digest: pinned, Reason: "not affected by " + strings.Join(c.Fixes, ", ")}, nil
			}
		}
		if len(named(present, r.To)) == 0 {
			return pin.Decision{Digest: d, Reason: "fixes " + strings.Join(present, ", ")}, nil
		}
	}
	if present == nil { // the pin is the newest build: is it affected?
		r, err := c.diff(ctx, repo, pinned, pinned, true)
		if err != nil {
			return pin.Decision{}, err
		}
		if present = named(c.Fixes, r.From); len(present) == 0 {
			return pin.Decision{Digest: pinned, Reason: "not affected by " + strings.Join(c.Fixes, ", ")}, nil
		}
	}
	return pin.Decision{}, fmt.Errorf("no build of %s fixes %s: the newest still has it", tag, strings.Join(present, ", "))
}

// named lists the CVEs of ids that img has.
func named(ids []string, img imagediff.Image) []string {
	var out []string
	for _, f := range img.Findings {
		if slices.Contains(ids, f.ID) && !slices.Contains(out, f.ID) {
			out = append(out, f.ID)
		}
	}
	slices.Sort(out)
	return out
}

// current is the tag's newest build (as a pin would name it).
func (c *Chooser) current(ctx context.Context, tag name.Tag) (v1.Hash, error) {
	d, err := c.Registry.Digest(ctx, c.up(tag))
	if err != nil {
		return v1.Hash{}, err
	}
	return c.build(ctx, c.up(tag).Context(), d)
}

// up is the tag whose history and current build count: a mirror's upstream.
func (c *Chooser) up(tag name.Tag) name.Tag {
	if c.Upstream != nil {
		if up, ok := c.Upstream(tag); ok {
			return up
		}
	}
	return tag
}

// build is how a pin names an image digest: itself, or with --platform
// that platform's image.
func (c *Chooser) build(ctx context.Context, repo name.Repository, d v1.Hash) (v1.Hash, error) {
	if c.Platform == nil {
		return d, nil
	}
	ps, err := c.Registry.Platforms(ctx, repo, d)
	if err != nil {
		return v1.Hash{}, err
	}
	for _, p := range ps {
		if p.Platform.Satisfies(*c.Platform) {
			return p.Digest, nil
		}
	}
	return v1.Hash{}, fmt.Errorf("%s@%s has no %s image", repo, d, c.Platform)
}

// diff compares two builds; needVulns makes an unchecked security
// database an error rather than a warning.
func (c *Chooser) diff(ctx context.Context, repo name.Repository, from, to v1.Hash, needVulns bool) (*imagediff.Result, error) {
	r, err := c.Differ.Diff(ctx, repo.Digest(from.String()).String(), repo.Digest(to.String()).String(), c.Diff)
	if err != nil {
		return nil, fmt.Errorf("cannot compare %s with %s: %w", from, to, err)
	}
	if needVulns && !r.VulnsChecked {
		return nil, fmt.Errorf("cannot tell which CVEs %s fixes: %s", to, strings.Join(r.Warnings, "; "))
	}
	return r, nil
}
