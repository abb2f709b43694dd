// Package imagediff compares two image builds: packages added, removed and
// changed (with the distro's own version ordering), vulnerabilities
// introduced and fixed, configuration and size.
package imagediff

import (
	"slices"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/inventory"
	"github.com/docker-cghistory/docker-cghistory/internal/vuln"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Image is one side of a comparison.
type Image struct {
	Ref       string // as the user named it, resolved (repo@digest)
	Digest    v1.Hash
	Platform  v1.Platform
	Size      int64 // compressed: config + layers
	Inventory *inventory.Inventory
	Findings  []vuln.Finding
	Config    *v1.Config
}

// Change is a package present in both images at different versions.
type Change struct {
	Previous, Current inventory.Package
	// Upgrade is false for a downgrade (by the distro's version rules).
	Upgrade bool
}

// Result is a comparison of From (previous) with To (current).
type Result struct {
	From, To       Image
	Added, Removed []inventory.Package
	Changed        []Change
	VulnsAdded     []vuln.Finding // affect To, not From
	VulnsRemoved   []vuln.Finding // affected From, fixed in To
	Config         []ConfigChange
	VulnsChecked   bool
	Warnings       []string
}

// Compare diffs two inventories (and findings and configs, when present).
func Compare(from, to Image) *Result {
	r := &Result{From: from, To: to}
	r.Added, r.Removed, r.Changed = Packages(pkgs(from), pkgs(to))
	r.VulnsAdded, r.VulnsRemoved = Vulns(from.Findings, to.Findings)
	r.Config = Config(from.Config, to.Config)
	return r
}

func pkgs(img Image) []inventory.Package {
	if img.Inventory == nil {
		return nil
	}
	return img.Inventory.Packages
}

// Packages compares two package lists by identity (purl without version).
func Packages(from, to []inventory.Package) (added, removed []inventory.Package, changed []Change) {
	prev := index(from)
	cur := index(to)
	for key, p := range cur {
		q, ok := prev[key]
		switch {
		case !ok:
			added = append(added, p)
		case q.Version != p.Version:
			changed = append(changed, Change{Previous: q, Current: p, Upgrade: inventory.CompareVersions(p.Type, p.Version, q.Version) > 0})
		}
	}
	for key, q := range prev {
		if _, ok := cur[key]; !ok {
			removed = append(removed, q)
		}
	}
	byKey := func(a, b inventory.Package) int { return strings.Compare(a.Key(), b.Key()) }
	slices.SortFunc(added, byKey)
	slices.SortFunc(removed, byKey)
	slices.SortFunc(changed, func(a, b Change) int { return byKey(a.Current, b.Current) })
	return added, removed, changed
}

// index keys packages by identity; of duplicates the highest version wins.
func index(ps []inventory.Package) map[string]inventory.Package {
	m := make(map[string]inventory.Package, len(ps))
	for _, p := range ps {
		if q, ok := m[p.Key()]; !ok || inventory.CompareVersions(p.Type, p.Version, q.Version) > 0 {
			m[p.Key()] = p
		}
	}
	return m
}

// Vulns compares findings by advisory and origin package: added affect the
// current image only; removed (fixed) affected the previous one only. A CVE
// fixed in openssl but still open in curl is both fixed and still present.
func Vulns(from, to []vuln.Finding) (added, removed []vuln.Finding) {
	ids := func(fs []vuln.Finding) map[string]vuln.Finding {
		m := map[string]vuln.Finding{}
		for _, f := range fs {
			k := f.ID + " " + f.Origin
			if _, ok := m[k]; !ok {
				m[k] = f
			}
		}
		return m
	}
	prev, cur := ids(from), ids(to)
	for id, f := range cur {
		if _, ok := prev[id]; !ok {
			added = append(added, f)
		}
	}
	for id, f := range prev {
		if _, ok := cur[id]; !ok {
			removed = append(removed, f)
		}
	}
	byID := func(a, b vuln.Finding) int {
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return strings.Compare(a.Origin, b.Origin)
	}
	slices.SortFunc(added, byID)
	slices.SortFunc(removed, byID)
	return added, removed
}

// Empty reports whether nothing differs.
func (r *Result) Empty() bool {
	return len(r.Added)+len(r.Removed)+len(r.Changed)+len(r.VulnsAdded)+len(r.VulnsRemoved)+len(r.Config) == 0 &&
		r.From.Digest == r.To.Digest
}

// FixedBy returns the advisories a package change fixes (for summaries).
func (r *Result) FixedBy(c Change) []string {
	var ids []string
	for _, f := range r.VulnsRemoved {
		if (f.Origin == c.Previous.Origin || f.Package == c.Previous.Name) && !slices.Contains(ids, f.ID) {
			ids = append(ids, f.ID)
		}
	}
	return ids
}
