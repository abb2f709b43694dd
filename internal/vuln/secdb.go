// Package vuln tells which vulnerabilities affect a set of packages, from
// the Wolfi / Chainguard / Alpine security database (secdb).
package vuln

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/inventory"
)

// SecDB URLs by /etc/os-release ID.
var SecDBURLs = map[string]string{
	"wolfi":      "https://packages.wolfi.dev/os/security.json",
	"chainguard": "https://packages.cgr.dev/chainguard/security.json",
}

// URLs returns the security databases of a distro release: one for Wolfi
// and Chainguard; Alpine publishes one per branch and repository
// (https://secdb.alpinelinux.org/v3.20/main.json and community.json).
func URLs(distro, version string) []string {
	if u, ok := SecDBURLs[distro]; ok {
		return []string{u}
	}
	if distro == "alpine" && version != "" {
		branch := "edge"
		if parts := strings.Split(version, "."); len(parts) >= 2 && !strings.Contains(version, "_alpha") {
			branch = "v" + parts[0] + "." + parts[1]
		}
		base := "https://secdb.alpinelinux.org/" + branch + "/"
		return []string{base + "main.json", base + "community.json"}
	}
	return nil
}

// Merge adds other's fixes to db.
func (db *SecDB) Merge(other *SecDB) {
	for name, fixes := range other.Fixes {
		mine := db.Fixes[name]
		if mine == nil {
			mine = map[string][]string{}
			db.Fixes[name] = mine
		}
		for v, ids := range fixes {
			mine[v] = append(mine[v], ids...)
		}
	}
}

// ErrMalformed marks a security database that is not valid.
var ErrMalformed = errors.New("malformed secdb")

// maxSecDB bounds a security database read into memory.
const maxSecDB = 256 << 20

// SecDB maps an origin package to its fixes: fixed version → advisory IDs.
type SecDB struct {
	Fixes map[string]map[string][]string
}

// ParseSecDB reads a secdb document ({"packages":[{"pkg":{"name","secfixes"}}]}).
// Alpine's free-text entries ("CVE-2017-2616 (+ regression fix)") keep only
// their CVE-/GHSA- tokens.
func ParseSecDB(r io.Reader) (*SecDB, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSecDB+1))
	if err != nil {
		return nil, fmt.Errorf("read secdb: %w", err)
	}
	if len(data) > maxSecDB {
		return nil, errors.New("secdb larger than 256 MiB")
	}
	var doc struct {
		Packages json.RawMessage `json:"packages"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: invalid JSON: %v", ErrMalformed, err)
	}
	if doc.Packages == nil {
		return nil, fmt.Errorf(`%w: no "packages" field`, ErrMalformed)
	}
	var pkgs []struct {
		Pkg struct {
			Name     string                     `json:"name"`
			Secfixes map[string]json.RawMessage `json:"secfixes"`
		} `json:"pkg"`
	}
	// Alpine's feeds write an empty list as {} (PHP's json_encode).
	if string(doc.Packages) != "{}" {
		if err := json.Unmarshal(doc.Packages, &pkgs); err != nil {
			return nil, fmt.Errorf(`%w: "packages" is not a list: %v`, ErrMalformed, err)
		}
	}
	db := &SecDB{Fixes: map[string]map[string][]string{}}
	for i, p := range pkgs {
		if p.Pkg.Name == "" {
			return nil, fmt.Errorf("%w: package %d has no name", ErrMalformed, i)
		}
		fixes := db.Fixes[p.Pkg.Name]
		if fixes == nil {
			fixes = map[string][]string{}
			db.Fixes[p.Pkg.Name] = fixes
		}
		for version, raw := range p.Pkg.Secfixes {
			if s := string(raw); s == "null" || s == "{}" {
				continue // an empty entry, as Alpine writes some
			}
			var entries []string
			if err := json.Unmarshal(raw, &entries); err != nil {
				return nil, fmt.Errorf("%w: %s %s: want a list of IDs", ErrMalformed, p.Pkg.Name, version)
			}
			for _, e := range entries {
				fixes[version] = append(fixes[version], advisoryIDs(e)...)
			}
		}
	}
	return db, nil
}

// advisoryIDs keeps the CVE-/GHSA- tokens of an entry (trivy-db does the same).
func advisoryIDs(entry string) []string {
	var out []string
	for f := range strings.FieldsSeq(entry) {
		f = strings.Trim(f, "(),;")
		if strings.HasPrefix(f, "CVE-") || strings.HasPrefix(f, "GHSA-") {
			out = append(out, f)
		}
	}
	return out
}

// Finding is one advisory affecting an installed package.
type Finding struct {
	ID       string
	Package  string // the installed package
	Origin   string // the secdb entry
	Version  string // installed version
	FixedIn  string
	Severity string // empty: the secdb has none
	// Reference is the affected package's purl.
	Reference string
}

// Affected lists the advisories affecting pkgs: an installed origin at
// version v is affected by the IDs of every fix key > v, except key "0"
// (not affected). Results are sorted by ID, then package.
func (db *SecDB) Affected(pkgs []inventory.Package) []Finding {
	var out []Finding
	for _, p := range pkgs {
		if p.Type != "apk" {
			continue
		}
		fixes := db.Fixes[p.Origin]
		if fixes == nil && p.Origin != p.Name {
			fixes = db.Fixes[p.Name]
		}
		notAffected := map[string]bool{}
		for _, id := range fixes["0"] {
			notAffected[id] = true
		}
		for fixed, ids := range fixes {
			if fixed == "0" || inventory.CompareVersions("apk", p.Version, fixed) >= 0 {
				continue
			}
			for _, id := range ids {
				if !notAffected[id] {
					out = append(out, Finding{ID: id, Package: p.Name, Origin: p.Origin, Version: p.Version, FixedIn: fixed, Reference: p.PURL})
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b Finding) int {
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return strings.Compare(a.Package, b.Package)
	})
	return slices.CompactFunc(out, func(a, b Finding) bool { return a.ID == b.ID && a.Package == b.Package })
}
