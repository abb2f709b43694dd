package release

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

func TestPlatformNames(t *testing.T) {
	for s, want := range map[string]string{
		"linux/amd64":   "docker-cghistory_linux_amd64.tar.gz",
		"linux/arm/v7":  "docker-cghistory_linux_arm-v7.tar.gz",
		"windows/arm64": "docker-cghistory_windows_arm64.zip",
	} {
		p, err := ParsePlatform(s)
		if err != nil || p.Archive() != want || p.String() != s {
			t.Errorf("%s: %+v %v, archive %s", s, p, err, p.Archive())
		}
	}
	for _, bad := range []string{"linux", "linux/amd64/v7", "/amd64", "a/b/c/d"} {
		if _, err := ParsePlatform(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestArchiveIgnoresFileTimesAndOrder: the same contents give the same
// archive bytes whatever the files' times and the order they are given in.
func TestArchiveIgnoresFileTimesAndOrder(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, f := range []string{a, b} {
		if err := os.WriteFile(f, []byte("contents of "+f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	epoch := time.Unix(1700000000, 0)
	for _, isZip := range []bool{false, true} {
		first, second := filepath.Join(dir, "1"), filepath.Join(dir, "2")
		if err := writeArchive(first, []file{{"a", a, 0o755}, {"b", b, 0o644}}, epoch, isZip); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(a, time.Now(), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := writeArchive(second, []file{{"b", b, 0o644}, {"a", a, 0o755}}, epoch, isZip); err != nil {
			t.Fatal(err)
		}
		x, _ := os.ReadFile(first)
		y, _ := os.ReadFile(second)
		if !bytes.Equal(x, y) {
			t.Errorf("zip %v: the archives differ", isZip)
		}
	}
}

// TestSBOMListsEveryBinary: each binary given is an application component
// with its SHA-256 and Go package, and the dependency graph says which
// modules it links, each one a component; the subject depends on the
// binaries. (The test binary stands for a release binary: it carries build
// info too.)
func TestSBOMListsEveryBinary(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var bins []string
	for _, n := range []string{"docker-cghistory", "cghistory-full"} {
		bins = append(bins, filepath.Join(dir, n))
		if err := os.WriteFile(bins[len(bins)-1], b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	doc, err := SBOM("v1.2.3", time.Unix(1700000000, 0), bins...)
	if err != nil {
		t.Fatal(err)
	}
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(doc), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		t.Fatal(err)
	}
	sum, _ := fileSHA256(bins[0])
	refs := map[string]bool{bom.Metadata.Component.BOMRef: true}
	var apps []string
	for _, c := range *bom.Components {
		refs[c.BOMRef] = true
		if c.Type == cdx.ComponentTypeApplication {
			apps = append(apps, c.Name)
			if c.Hashes == nil || len(*c.Hashes) != 1 || (*c.Hashes)[0].Value != sum || c.Version != "v1.2.3" {
				t.Errorf("%s: hashes %v, version %q", c.Name, c.Hashes, c.Version)
			}
		}
	}
	if strings.Join(apps, " ") != "cghistory-full docker-cghistory" {
		t.Errorf("binaries listed: %v", apps)
	}
	deps := map[string][]string{}
	for _, d := range *bom.Dependencies {
		deps[d.Ref] = deref(d.Dependencies)
		for _, r := range deref(d.Dependencies) {
			if !refs[r] {
				t.Errorf("%s depends on %s, which is no component", d.Ref, r)
			}
		}
	}
	// A test binary's build info lists no modules (plugin/dist_test.go
	// checks the graph of real release binaries): each binary has its entry.
	_, full := deps["binary:cghistory-full"]
	if len(deps[bom.Metadata.Component.BOMRef]) != 2 || !full {
		t.Errorf("dependencies: %v", deps)
	}
	if _, err := SBOM("v1.2.3", time.Unix(0, 0)); err == nil {
		t.Error("an SBOM of no binaries")
	}
}

func deref(s *[]string) []string {
	if s == nil {
		return nil
	}
	return *s
}
