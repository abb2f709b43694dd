package inventory

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/package-url/packageurl-go"
)

// SPDXPredicateType is the in-toto predicate type of SPDX SBOM attestations.
const SPDXPredicateType = "https://spdx.dev/Document"

// maxSBOM bounds an SBOM document or attestation read into memory.
const maxSBOM = 64 << 20

type spdxDoc struct {
	SPDXVersion   string `json:"spdxVersion"`
	Relationships []struct {
		Element string `json:"spdxElementId"`
		Type    string `json:"relationshipType"`
		Related string `json:"relatedSpdxElement"`
	} `json:"relationships"`
	Packages []struct {
		SPDXID       string `json:"SPDXID"`
		Name         string `json:"name"`
		VersionInfo  string `json:"versionInfo"`
		ExternalRefs []struct {
			Category string `json:"referenceCategory"`
			Type     string `json:"referenceType"`
			Locator  string `json:"referenceLocator"`
		} `json:"externalRefs"`
	} `json:"packages"`
}

// ParseSPDX reads an SPDX 2.x JSON document and returns its packages that
// carry a package URL. The identity of a package is its purl without
// version; pkg:oci self-references are not packages. The old "pkg:alpine"
// type is read as apk. Origins come from a
// "pkg:github/wolfi-dev/os@…#<origin>.yaml" purl, on the package itself or
// on the package it is DESCRIBED_BY (as apko writes them).
func ParseSPDX(r io.Reader) ([]Package, error) {
	data, err := readLimited(r, maxSBOM, "SBOM")
	if err != nil {
		return nil, err
	}
	var doc spdxDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("malformed SPDX JSON: %w", err)
	}
	if !strings.HasPrefix(doc.SPDXVersion, "SPDX-2") {
		return nil, fmt.Errorf("not an SPDX 2.x document (spdxVersion %q)", doc.SPDXVersion)
	}
	// Origins named by wolfi-dev/os melange configs, by SPDX ID.
	originOf := map[string]string{}
	for _, sp := range doc.Packages {
		for _, ref := range sp.ExternalRefs {
			if o := wolfiOrigin(ref.Type, ref.Locator); o != "" {
				originOf[sp.SPDXID] = o
			}
		}
	}
	for _, r := range doc.Relationships {
		if r.Type == "DESCRIBED_BY" && originOf[r.Related] != "" && originOf[r.Element] == "" {
			originOf[r.Element] = originOf[r.Related]
		}
	}
	var out []Package
	seen := map[string]bool{}
	for _, sp := range doc.Packages {
		var pkg *Package
		origin := originOf[sp.SPDXID]
		for _, ref := range sp.ExternalRefs {
			if !strings.EqualFold(ref.Type, "purl") {
				continue
			}
			pu, err := packageurl.FromString(ref.Locator)
			if err != nil {
				continue
			}
			switch pu.Type {
			case "oci", "generic", "github":
				// the image itself, a source archive or repository: not an installed package
			default:
				if pkg != nil {
					continue // the first package purl wins
				}
				p := Package{Name: pu.Name, Version: pu.Version, Type: pu.Type, Namespace: pu.Namespace, PURL: ref.Locator}
				if p.Type == "alpine" { // syft < 0.60 wrote pkg:alpine/NAME@VERSION
					p.Type, p.Namespace = "apk", "alpine"
				}
				if p.Version == "" {
					p.Version = sp.VersionInfo
				}
				p.Arch = pu.Qualifiers.Map()["arch"]
				pkg = &p
			}
		}
		if pkg == nil {
			continue
		}
		pkg.Origin = pkg.Name
		if origin != "" {
			pkg.Origin = origin
		}
		if k := pkg.Key() + "@" + pkg.Version; !seen[k] {
			seen[k] = true
			out = append(out, *pkg)
		}
	}
	return out, nil
}

// dsse is a DSSE envelope, as cosign stores attestations.
type dsse struct {
	PayloadType string `json:"payloadType"`
	Payload     string `json:"payload"`
}

type statement struct {
	Type          string          `json:"_type"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// ParseAttestation unwraps a DSSE envelope holding an in-toto statement and
// returns its predicate type and predicate. A sigstore bundle
// ({"dsseEnvelope": …}) is unwrapped too.
func ParseAttestation(r io.Reader) (string, []byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSBOM+1))
	if err != nil {
		return "", nil, fmt.Errorf("read attestation: %w", err)
	}
	if len(data) > maxSBOM {
		return "", nil, errors.New("attestation larger than 64 MiB")
	}
	var outer struct {
		dsse
		Bundle *dsse `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(data, &outer); err != nil {
		return "", nil, fmt.Errorf("malformed DSSE envelope: %w", err)
	}
	env := outer.dsse
	if outer.Bundle != nil {
		env = *outer.Bundle
	}
	if env.PayloadType != "application/vnd.in-toto+json" {
		return "", nil, fmt.Errorf("DSSE payload type %q is not in-toto", env.PayloadType)
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return "", nil, fmt.Errorf("DSSE payload is not base64: %w", err)
	}
	var st statement
	if err := json.Unmarshal(payload, &st); err != nil {
		return "", nil, fmt.Errorf("malformed in-toto statement: %w", err)
	}
	if !strings.HasPrefix(st.Type, "https://in-toto.io/Statement/") {
		return "", nil, fmt.Errorf("not an in-toto statement (_type %q)", st.Type)
	}
	return st.PredicateType, st.Predicate, nil
}

// wolfiOrigin returns <origin> from a "pkg:github/wolfi-dev/os@…#<origin>.yaml" purl.
func wolfiOrigin(refType, locator string) string {
	if !strings.EqualFold(refType, "purl") {
		return ""
	}
	pu, err := packageurl.FromString(locator)
	if err != nil || pu.Type != "github" || pu.Namespace != "wolfi-dev" || !strings.HasSuffix(pu.Subpath, ".yaml") {
		return ""
	}
	return strings.TrimSuffix(pu.Subpath, ".yaml")
}
