package release

import (
	"bytes"
	"debug/buildinfo"
	"fmt"
	pathpkg "path"
	"sort"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/package-url/packageurl-go"
)

// SBOM returns a CycloneDX JSON document of the Go modules linked into the
// binaries, as "go version -m" reads them (debug/buildinfo): the main module
// as the subject and every dependency once (a replaced module by its
// replacement). It carries no serial number and the epoch as its time, so
// the same binaries give the same bytes.
func SBOM(version string, epoch time.Time, binaries ...string) ([]byte, error) {
	bom := cdx.NewBOM()
	bom.Metadata = &cdx.Metadata{Timestamp: epoch.UTC().Format(time.RFC3339)}
	mods := map[string]cdx.Component{}
	for _, bin := range binaries {
		info, err := buildinfo.ReadFile(bin)
		if err != nil {
			return nil, fmt.Errorf("reading the build info of %s: %w", bin, err)
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
		}
	}
	comps := make([]cdx.Component, 0, len(mods))
	for _, c := range mods {
		comps = append(comps, c)
	}
	sort.Slice(comps, func(i, j int) bool { return comps[i].BOMRef < comps[j].BOMRef })
	bom.Components = &comps
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
