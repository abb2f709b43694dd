package vuln

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/inventory"
)

const doc = `{"packages":[
 {"pkg":{"name":"openssl","secfixes":{"0":["CVE-2000-0001"],"3.1.1-r3":["CVE-2023-3446"],"3.1.4-r0":["CVE-2023-5678","GHSA-aaaa-bbbb-cccc"]}}},
 {"pkg":{"name":"busybox","secfixes":{"1.36.1-r2":["CVE-2022-48174 (+ regression fix)","XSA-1"]}}}]}`

func apk(name, version, origin string) inventory.Package {
	return inventory.Package{Name: name, Version: version, Origin: origin, Type: "apk", Namespace: "wolfi"}
}

func TestAffected(t *testing.T) {
	db, err := ParseSecDB(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		pkg  inventory.Package
		want string
	}{
		{apk("libssl3", "3.1.1-r0", "openssl"), "CVE-2023-3446 CVE-2023-5678 GHSA-aaaa-bbbb-cccc"}, // subpackage → origin
		{apk("libssl3", "3.1.1-r3", "openssl"), "CVE-2023-5678 GHSA-aaaa-bbbb-cccc"},               // equal to a fix: fixed
		{apk("openssl", "3.1.10-r0", "openssl"), ""},                                               // 3.1.10 > 3.1.4, not string order
		{apk("busybox", "1.36.1-r1", "busybox"), "CVE-2022-48174"},                                 // free text trimmed
		{apk("zlib", "1.0-r0", "zlib"), ""},
	}
	for _, tc := range cases {
		var ids []string
		for _, f := range db.Affected([]inventory.Package{tc.pkg}) {
			ids = append(ids, f.ID)
		}
		if got := strings.Join(ids, " "); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.pkg.Name, tc.pkg.Version, got, tc.want)
		}
	}
}

func TestCorpusSecDBs(t *testing.T) {
	dir, _ := os.Getwd()
	var root string
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			root = filepath.Join(filepath.Dir(d), "shared", "corpus", "secdb")
			break
		}
	}
	files, _ := filepath.Glob(filepath.Join(root, "*.json"))
	if len(files) == 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("secdb corpus missing in CI")
		}
		t.Skip("no secdb corpus")
	}
	counts := map[string]int{
		"chainguard__test-fixtures__input__secdb__security.json": 57,
		"minimos__test-fixtures__input__secdb__security.json":    27,
		"secureos__test-fixtures__input__secdb__secdb.json":      8,
		"wolfi__test-fixtures__input__secdb__security.json":      27,
		"312-community.json":                               0,
		"312-main.json":                                    1,
		"edge-main.json":                                   1,
		"chainguard__testdata__security.json":              1,
		"vuln-list-update__wolfi__testdata__security.json": 1,
		"v3.10__community.json":                            3,
		"v3_15_main_truncated.json":                        2,
		"secdb__security-multiple.json":                    4,
		"advisory__testdata__secdb__security.json":         3,
	}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		db, err := ParseSecDB(bytes.NewReader(data))
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		want := -1
		for suffix, n := range counts {
			if strings.HasSuffix(f, suffix) {
				want = n
			}
		}
		if len(db.Fixes) != want {
			t.Errorf("%s: %d packages, want %d", filepath.Base(f), len(db.Fixes), want)
		}
	}
}

func TestMalformedSecDB(t *testing.T) {
	for _, bad := range []string{`{`, `{}`, `{"packages":[{"pkg":{}}]}`, `{"packages":[{"pkg":{"name":"a","secfixes":{"1":"CVE-1"}}}]}`} {
		if _, err := ParseSecDB(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func FuzzParseSecDB(f *testing.F) {
	f.Add([]byte(doc))
	f.Add([]byte(`{"packages":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		db, err := ParseSecDB(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Whatever it holds, Affected must not panic.
		db.Affected([]inventory.Package{apk("a", "1.0-r0", "a"), apk("b", "not a version", "b")})
	})
}

func TestURLs(t *testing.T) {
	for _, tc := range []struct{ distro, version, want string }{
		{"wolfi", "20230201", "https://packages.wolfi.dev/os/security.json"},
		{"chainguard", "", "https://packages.cgr.dev/chainguard/security.json"},
		{"alpine", "3.20.3", "https://secdb.alpinelinux.org/v3.20/main.json https://secdb.alpinelinux.org/v3.20/community.json"},
		{"alpine", "3.21.0_alpha20240807", "https://secdb.alpinelinux.org/edge/main.json https://secdb.alpinelinux.org/edge/community.json"},
		{"debian", "12", ""},
	} {
		if got := strings.Join(URLs(tc.distro, tc.version), " "); got != tc.want {
			t.Errorf("URLs(%s, %s) = %q, want %q", tc.distro, tc.version, got, tc.want)
		}
	}
	a, _ := ParseSecDB(strings.NewReader(doc))
	b, _ := ParseSecDB(strings.NewReader(`{"packages":[{"pkg":{"name":"zlib","secfixes":{"1.3-r0":["CVE-2023-1"]}}}]}`))
	a.Merge(b)
	if len(a.Affected([]inventory.Package{apk("zlib", "1.2-r0", "zlib")})) != 1 {
		t.Error("merge lost zlib")
	}
}
