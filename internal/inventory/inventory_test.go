package inventory

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func corpus(t testing.TB, sub string) string {
	dir, _ := os.Getwd()
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			p := filepath.Join(filepath.Dir(d), "shared", "corpus", sub)
			if _, err := os.Stat(p); err != nil {
				if os.Getenv("CI") != "" {
					t.Fatalf("%s missing in CI", p)
				}
				t.Skipf("no %s", p)
			}
			return p
		}
	}
	t.Skip("no module root")
	return ""
}

// Expected package counts of the corpus databases: entries with a name and
// a version (apk), installed paragraphs (dpkg); -1 means a clean error.
var apkCounts = map[string]int{
	"image-pkg-coverage__pkgs__lib__apk__db__installed":    2,
	"alpine__testdata__base":                               1,
	"corrupt__lib__apk__db__installed":                     1, // garbage first line skipped
	"empty-deps-and-provides":                              1,
	"extra-file-attributes":                                1,
	"multiple-1__lib__apk__db__installed":                  4,
	"multiple-2__lib__apk__db__installed":                  14,
	"alpine__testdata__single":                             1,
	"trivy__pkg__fanal__analyzer__pkg__apk__testdata__apk": 15, // one entry has no V:
	"bad-top-level-perms":                                  1,
	"redis-operator-compat":                                16,
	"installed__wolfi-base":                                15,
	"root__usr__lib__apk__db__installed":                   14,
}

var dpkgCounts = map[string]int{
	"image-pkg-coverage__pkgs__var__lib__dpkg__status": 1,
	"status.d__dash":                     1,
	"status.d__netbase":                  1,
	"status.d__libsqlite3-0":             1,
	"image-dpkg__var__lib__dpkg__status": 1,
	"status.d__coreutils-relationships":  9,
	"status.d__corrupt":                  -1,
	"status.d__deinstall":                1, // the other is deinstall ok config-files
	"status.d__doc-examples":             5,
	"status.d__empty":                    0,
	"status.d__installed-size-4KB":       1,
	"status.d__libpam-runtime":           1,
	"status.d__multiple":                 2,
	"status.d__single":                   1,
	"testdata__corrupsed":                4,
	"testdata__digest-status":            2,
	"dpkg__testdata__dpkg":               90, // 91 paragraphs, one deinstalled
	"testdata__dpkg-third-party":         2,
	"testdata__dpkg_apt":                 1,
}

func expected(t *testing.T, counts map[string]int, file string) int {
	best, n := "", 0
	for suffix, c := range counts {
		if strings.HasSuffix(file, suffix) && len(suffix) > len(best) {
			best, n = suffix, c
		}
	}
	if best == "" {
		t.Fatalf("no expected count for %s", file)
	}
	return n
}

func TestCorpusDatabases(t *testing.T) {
	for _, kind := range []string{"apk", "dpkg"} {
		files, _ := filepath.Glob(filepath.Join(corpus(t, "packagedb"), kind, "*"))
		if len(files) == 0 {
			t.Fatalf("no %s corpus", kind)
		}
		for _, f := range files {
			t.Run(filepath.Base(f), func(t *testing.T) {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				var ps []Package
				var want int
				if kind == "apk" {
					ps, err = ParseAPK(bytes.NewReader(data), "alpine")
					want = expected(t, apkCounts, f)
				} else {
					ps, err = ParseDpkg(bytes.NewReader(data), "debian")
					want = expected(t, dpkgCounts, f)
				}
				if want < 0 {
					if err == nil || err.Error() == "" {
						t.Fatalf("want a clean error, got %d packages", len(ps))
					}
					return
				}
				if err != nil || len(ps) != want {
					t.Fatalf("got %d packages, %v; want %d", len(ps), err, want)
				}
				for _, p := range ps {
					if p.Name == "" || p.Version == "" || p.Origin == "" || !strings.HasPrefix(p.PURL, "pkg:") {
						t.Errorf("incomplete package %+v", p)
					}
				}
			})
		}
	}
}

func TestAPKFields(t *testing.T) {
	db := "C:Q1abc=\nP:libssl3\nV:3.3.2-r0\nA:x86_64\no:openssl\nm:wolfi\n\nP:busybox\nV:1.36.1-r7\nA:aarch64\n"
	ps, err := ParseAPK(strings.NewReader(db), "wolfi")
	if err != nil || len(ps) != 2 {
		t.Fatal(ps, err)
	}
	want := Package{Name: "libssl3", Version: "3.3.2-r0", Type: "apk", Namespace: "wolfi", Origin: "openssl", Arch: "x86_64",
		PURL: "pkg:apk/wolfi/libssl3@3.3.2-r0?arch=x86_64"}
	if ps[0] != want {
		t.Errorf("got %+v\nwant %+v", ps[0], want)
	}
	if ps[1].Origin != "busybox" {
		t.Errorf("origin defaults to the name: %+v", ps[1])
	}
	if _, err := ParseAPK(strings.NewReader("just some text\nwith no fields\n"), "x"); err == nil {
		t.Error("garbage accepted")
	}
}

func TestDpkgSource(t *testing.T) {
	st := "Package: libssl3\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\nSource: openssl (3.0.11-1~deb12u2)\nDescription: x\n more\n\n"
	ps, err := ParseDpkg(strings.NewReader(st), "debian")
	if err != nil || len(ps) != 1 || ps[0].Origin != "openssl" || ps[0].PURL != "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64" {
		t.Fatalf("%+v %v", ps, err)
	}
}

var sbomCounts = map[string]int{
	"base_image__sboms__sbom-x86_64.spdx.json": -1, // the file is not valid JSON
	"golden__sboms__sbom-aarch64.spdx.json":    2,
	"golden__sboms__sbom-index.spdx.json":      0, // the index SBOM lists images, not packages
	"golden__sboms__sbom-x86_64.spdx.json":     2,
	"both-describes-methods.spdx.json":         2,
	"custom-license.spdx.json":                 1,
	"describes-relationship.spdx.json":         3,
	"no-supplier.spdx.json":                    1,
	"package-deduplicating.spdx.json":          2,
	"unbound-package-dedupe.spdx.json":         3,
	"alpine-small-spdx.json":                   3,
	"alpine-spdx.json":                         14, // old pkg:alpine purls
	"font-ubuntu-0.869-r1.spdx.json":           1,
	"libattr1-2.5.1-r2.spdx.json":              1,
	"logstash-8-8.15.3-r4.spdx.json":           1,
	"unbound-1.23.0-r0.spdx.json":              1,
	"unbound-libs-1.23.0-r0.spdx.json":         1,
}

func TestCorpusSBOMs(t *testing.T) {
	for _, sub := range []string{"spdx", "spdx-apk-package"} {
		files, _ := filepath.Glob(filepath.Join(corpus(t, "sbom"), sub, "*"))
		for _, f := range files {
			t.Run(filepath.Base(f), func(t *testing.T) {
				data, _ := os.ReadFile(f)
				ps, err := ParseSPDX(bytes.NewReader(data))
				want := expected(t, sbomCounts, f)
				if want < 0 {
					if err == nil {
						t.Fatal("want an error")
					}
					return
				}
				if err != nil || len(ps) != want {
					t.Fatalf("got %d packages, %v; want %d", len(ps), err, want)
				}
				for _, p := range ps {
					if p.Type == "" || p.Version == "" || (p.Type == "oci") {
						t.Errorf("package %+v", p)
					}
				}
			})
		}
	}
	// Origins from DESCRIBED_BY wolfi-dev/os configs.
	data, _ := os.ReadFile(filepath.Join(corpus(t, "sbom"), "spdx", "chainguard-dev__apko__pkg__sbom__generator__spdx__testdata__expected_image_sboms__unbound-package-dedupe.spdx.json"))
	ps, _ := ParseSPDX(bytes.NewReader(data))
	for _, p := range ps {
		if p.Origin != "unbound" {
			t.Errorf("%s origin = %q, want unbound", p.Name, p.Origin)
		}
	}
	// Old pkg:alpine purls become apk/alpine.
	data, _ = os.ReadFile(filepath.Join(corpus(t, "sbom"), "spdx", "guacsec__guac__internal__testing__testdata__exampledata__alpine-spdx.json"))
	ps, _ = ParseSPDX(bytes.NewReader(data))
	if ps[0].Namespace != "alpine" || ps[0].Key() != "apk/alpine/"+ps[0].Name {
		t.Errorf("old purl type: %+v", ps[0])
	}
}

func TestAttestation(t *testing.T) {
	// The corpus envelopes: not SPDX, but well-formed.
	for _, f := range []string{"guacsec__guac__internal__testing__testdata__exampledata__oci-dsse-att.json", "sigstore__cosign__pkg__cosign__testdata__oci-attestation.sigstore.json"} {
		data, _ := os.ReadFile(filepath.Join(corpus(t, "sbom"), "attestation", f))
		pt, pred, err := ParseAttestation(bytes.NewReader(data))
		if err != nil || pt == "" || len(pred) == 0 || pt == SPDXPredicateType {
			t.Errorf("%s: %q %d %v", f, pt, len(pred), err)
		}
	}
	// An SPDX attestation as cosign writes it.
	spdx := `{"spdxVersion":"SPDX-2.3","packages":[{"SPDXID":"a","name":"glibc","versionInfo":"2.39-r6","externalRefs":[{"referenceCategory":"PACKAGE_MANAGER","referenceType":"purl","referenceLocator":"pkg:apk/wolfi/glibc@2.39-r6?arch=x86_64"},{"referenceCategory":"PACKAGE_MANAGER","referenceType":"purl","referenceLocator":"pkg:github/wolfi-dev/os@abc#glibc.yaml"}]},{"SPDXID":"img","name":"img","externalRefs":[{"referenceCategory":"PACKAGE_MANAGER","referenceType":"purl","referenceLocator":"pkg:oci/image@sha256:00?arch=amd64"}]}]}`
	st, _ := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v0.1", "predicateType": SPDXPredicateType, "predicate": json.RawMessage(spdx)})
	env, _ := json.Marshal(map[string]any{"payloadType": "application/vnd.in-toto+json", "payload": base64.StdEncoding.EncodeToString(st)})
	pt, pred, err := ParseAttestation(bytes.NewReader(env))
	if err != nil || pt != SPDXPredicateType {
		t.Fatal(pt, err)
	}
	ps, err := ParseSPDX(bytes.NewReader(pred))
	if err != nil || len(ps) != 1 || ps[0].Name != "glibc" || ps[0].Origin != "glibc" {
		t.Fatalf("%+v %v", ps, err)
	}
	for _, bad := range []string{`{`, `{"payloadType":"text/plain","payload":""}`, `{"payloadType":"application/vnd.in-toto+json","payload":"!!"}`,
		`{"payloadType":"application/vnd.in-toto+json","payload":"` + base64.StdEncoding.EncodeToString([]byte(`{"_type":"x"}`)) + `"}`} {
		if _, _, err := ParseAttestation(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestVersionOrdering(t *testing.T) {
	cases := []struct {
		typ, a, b string
		want      int
	}{
		{"apk", "3.4.0-r0", "3.4.0-r1", -1},
		{"apk", "1.10-r0", "1.9-r0", 1}, // not string order
		{"apk", "1.2.3_rc1-r0", "1.2.3-r0", -1},
		{"apk", "1.2.3_p1-r0", "1.2.3-r0", 1},
		{"apk", "2.39-r6", "2.39-r6", 0},
		{"apk", "1.0a-r0", "1.0-r0", 1},
		{"deb", "1:1.0-1", "2.0-1", 1}, // epoch wins
		{"deb", "1.0~rc1-1", "1.0-1", -1},
		{"deb", "3.0.11-1~deb12u2", "3.0.11-1", -1},
		{"deb", "2.36-9+deb12u4", "2.36-9+deb12u10", -1},
		{"other", "b", "a", 1},
	}
	for _, tc := range cases {
		if got := CompareVersions(tc.typ, tc.a, tc.b); got != tc.want {
			t.Errorf("CompareVersions(%s, %q, %q) = %d, want %d", tc.typ, tc.a, tc.b, got, tc.want)
		}
		if got := CompareVersions(tc.typ, tc.b, tc.a); got != -tc.want {
			t.Errorf("CompareVersions(%s, %q, %q) = %d, want %d (antisymmetry)", tc.typ, tc.b, tc.a, got, -tc.want)
		}
	}
}

func FuzzParsers(f *testing.F) {
	f.Add([]byte("P:a\nV:1-r0\no:b\n\nP:c\n"))
	f.Add([]byte("Package: a\nStatus: install ok installed\nVersion: 1\n\n"))
	f.Add([]byte(`{"spdxVersion":"SPDX-2.3","packages":[{"name":"a","externalRefs":[{"referenceType":"purl","referenceLocator":"pkg:apk/wolfi/a@1"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func() ([]Package, error){
			func() ([]Package, error) { return ParseAPK(bytes.NewReader(data), "x") },
			func() ([]Package, error) { return ParseDpkg(bytes.NewReader(data), "x") },
			func() ([]Package, error) { return ParseSPDX(bytes.NewReader(data)) },
		} {
			ps, err := parse()
			if err != nil && ps != nil {
				t.Fatal("packages with an error")
			}
			for _, p := range ps {
				if p.Name == "" {
					t.Fatalf("package without a name: %+v", p)
				}
			}
		}
		_, _, _ = ParseAttestation(bytes.NewReader(data))
	})
}
