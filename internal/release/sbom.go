package release

import (
	"bytes"
	"debug/buildinfo"
	"fmt"
	pathpkg "path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/package-url/packageurl-go"
)

// SBOM returns a CycloneDX JSON document of an archive's binaries and the
// Go modules linked into them, as "go version -m" reads them
// (debug/buildinfo): the main module as the subject; each binary as an
// application component (by its file name, with its SHA-256 and Go
// package); every dependency once (a replaced module by its replacement);
// and which modules each binary links, as the dependency graph. It carries
// no serial number and the epoch as its time, so the same binaries give the
// same bytes.
func SBOM(version string, epoch time.Time, binaries ...string) ([]byte, error) {
	bom := cdx.NewBOM()
	bom.Metadata = &cdx.Metadata{Timestamp: epoch.UTC().Format(time.RFC3339)}
	mods := map[string]cdx.Component{}
	var bins []cdx.Component
	var deps []cdx.Dependency
	for _, bin := range binaries {
		info, err := buildinfo.ReadFile(bin)
		if err != nil {
			return nil, fmt.Errorf("reading the build info of %s: %w", bin, err)
		}
		sum, err := fileSHA256(bin)
		if err != nil {
			return nil, err
		}
		if bom.Metadata.Component == nil {
			bom.Metadata.Component = &cdx.Component{
				BOMRef: purl(info.Main.Path, version), Type: cdx.ComponentTypeApplication,
				Name: info.Main.Path, Version: version, PackageURL: purl(info.Main.Path, version),
				Licenses: &cdx.Licenses{{License: &cdx.License{ID: "Apache-2.0"}}},
				Properties: &[]cdx.Property{
					{Name: "go:toolchain", Value: info.GoVersion},
				},
			}
		}
		name := filepath.Base(bin)
		bins = append(bins, cdx.Component{
			BOMRef: "binary:" + name, Type: cdx.ComponentTypeApplication, Name: name, Version: version,
			Hashes:     &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: sum}},
			Properties: &[]cdx.Property{{Name: "go:package", Value: info.Path}, {Name: "go:toolchain", Value: info.GoVersion}},
		})
		linked := []string{}
		for _, m := range info.Deps {
			if m.Replace != nil {
				m = m.Replace
			}
			p := purl(m.Path, m.Version)
			c := cdx.Component{BOMRef: p, Type: cdx.ComponentTypeLibrary, Name: m.Path, Version: m.Version, PackageURL: p}
			if m.Sum != "" {
				c.Properties = &[]cdx.Property{{Name: "go:module:sum", Value: m.Sum}}
			}
			mods[p] = c
			linked = append(linked, p)
		}
		sort.Strings(linked)
		deps = append(deps, cdx.Dependency{Ref: "binary:" + name, Dependencies: &linked})
	}
	if bom.Metadata.Component == nil {
		return nil, fmt.Errorf("an SBOM of no binaries")
	}
	comps := make([]cdx.Component, 0, len(bins)+len(mods))
	for _, c := range mods {
		comps = append(comps, c)
	}
	sort.Slice(comps, func(i, j int) bool { return comps[i].BOMRef < comps[j].BOMRef })
	sort.Slice(bins, func(i, j int) bool { return bins[i].BOMRef < bins[j].BOMRef })
	sort.Slice(deps, func(i, j int) bool { return deps[i].Ref < deps[j].Ref })
	comps = append(bins, comps...)
	bom.Components = &comps
	subject := make([]string, 0, len(bins))
	for _, b := range bins {
		subject = append(subject, b.BOMRef)
	}
	deps = append([]cdx.Dependency{{Ref: bom.Metadata.Component.BOMRef, Dependencies: &subject}}, deps...)
	bom.Dependencies = &deps
	var buf bytes.Buffer
	if err := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON).SetPretty(true).EncodeVersion(bom, cdx.SpecVersion1_6); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// purl is a Go module's package URL, pkg:golang/PATH@VERSION.
func purl(path, version string) string {
	ns, name := pathpkg.Split(path)
	return packageurl.NewPackageURL(packageurl.TypeGolang, strings.TrimSuffix(ns, "/"), name, version, nil, "").ToString()
}
