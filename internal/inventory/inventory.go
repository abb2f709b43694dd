// Package inventory lists the OS packages of an image: from its SPDX SBOM
// attestation, or from the package database in its layers (apk's
// lib/apk/db/installed, dpkg's var/lib/dpkg/status and status.d/).
package inventory

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Package is one installed package.
type Package struct {
	Name    string
	Version string
	// Type is the purl type: "apk", "deb", …
	Type string
	// Namespace is the purl namespace: "wolfi", "alpine", "debian", …
	Namespace string
	// Origin is the source package the secdb is keyed by (apk "o:", dpkg
	// "Source:"); the package's own name when unknown.
	Origin string
	Arch   string
	// PURL is the package URL with version ("reference" in diffs).
	PURL string
}

// Key identifies a package across versions: its purl without version.
func (p Package) Key() string { return p.Type + "/" + p.Namespace + "/" + p.Name }

// Inventory is the packages of one platform image.
type Inventory struct {
	Packages []Package
	// Source says where they came from: "sbom" or "layers".
	Source string
	// Distro is the os-release ID when known ("wolfi", "chainguard", "alpine", "debian").
	Distro string
	// DistroVersion is the os-release VERSION_ID when known ("3.20.3").
	DistroVersion string
	// VerifiedBy is the identity whose signature on the SBOM attestation
	// was verified (--verify), "" when none was checked.
	VerifiedBy string `json:",omitempty"`
	// Warning says why a source was passed over (an SBOM that does not
	// verify), for the comparison's warnings.
	Warning string `json:",omitempty"`
}

// Sort orders packages by key, then version, for stable output.
func (inv *Inventory) Sort() {
	slices.SortFunc(inv.Packages, func(a, b Package) int {
		if c := strings.Compare(a.Key(), b.Key()); c != 0 {
			return c
		}
		return strings.Compare(a.Version, b.Version)
	})
}

// Filter keeps packages whose type is in types ("all" keeps everything).
func (inv *Inventory) Filter(types []string) {
	if slices.Contains(types, "all") {
		return
	}
	inv.Packages = slices.DeleteFunc(inv.Packages, func(p Package) bool { return !slices.Contains(types, p.Type) })
}

// OSTypes are the package types that are OS packages (the default filter).
var OSTypes = []string{"apk", "deb", "rpm"}

// readLimited reads a whole database or document of kind, at most limit bytes.
func readLimited(r io.Reader, limit int64, kind string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", kind, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s larger than %d MiB", kind, limit>>20)
	}
	return data, nil
}
