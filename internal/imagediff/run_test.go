package imagediff_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/imagediff"
	"github.com/docker-cghistory/docker-cghistory/internal/inventory"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	"github.com/docker-cghistory/docker-cghistory/internal/vuln"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// Fixture is two builds of one image and a security database.
type Fixture struct {
	Reg    *registrytest.Server
	SecDB  *httptest.Server
	Hits   *atomic.Int64 // secdb downloads with a body
	Repo   string
	Build1 v1.Hash
	Build2 v1.Hash
}

type pkg struct{ name, version, origin string }

func apkDB(pkgs []pkg) string {
	var b strings.Builder
	for _, p := range pkgs {
		fmt.Fprintf(&b, "P:%s\nV:%s\nA:x86_64\no:%s\n\n", p.name, p.version, p.origin)
	}
	return b.String()
}

func spdx(pkgs []pkg) []byte {
	var ps []map[string]any
	for i, p := range pkgs {
		ps = append(ps, map[string]any{"SPDXID": fmt.Sprintf("SPDXRef-%d", i), "name": p.name, "versionInfo": p.version,
			"externalRefs": []map[string]string{
				{"referenceCategory": "PACKAGE_MANAGER", "referenceType": "purl", "referenceLocator": fmt.Sprintf("pkg:apk/wolfi/%s@%s?arch=x86_64", p.name, p.version)},
				{"referenceCategory": "PACKAGE_MANAGER", "referenceType": "purl", "referenceLocator": fmt.Sprintf("pkg:github/wolfi-dev/os@abc#%s.yaml", p.origin)},
			}})
	}
	b, _ := json.Marshal(map[string]any{"spdxVersion": "SPDX-2.3", "packages": ps})
	return b
}

const secdbDoc = `{"packages":[
 {"pkg":{"name":"openssl","secfixes":{"3.4.0-r1":["CVE-2024-0001"]}}},
 {"pkg":{"name":"libxml2","secfixes":{"2.13.5-r0":["CVE-2024-0002"]}}},
 {"pkg":{"name":"busybox","secfixes":{"1.36.1-r2":["CVE-2024-0003"]}}}]}`

// NewFixture pushes build 1 and build 2 of chainguard/app:latest, with
// SBOMs when sbom is set.
func NewFixture(t testing.TB, sbom bool) *Fixture {
	f := &Fixture{Reg: registrytest.New(t), Repo: "chainguard/app", Hits: &atomic.Int64{}}
	b1 := []pkg{{"glibc", "2.40-r3", "glibc"}, {"libssl3", "3.4.0-r0", "openssl"}, {"busybox", "1.36.1-r1", "busybox"}, {"foo", "2.0-r0", "foo"}}
	b2 := []pkg{{"glibc", "2.40-r3", "glibc"}, {"libssl3", "3.4.0-r1", "openssl"}, {"libxml2", "2.13.4-r0", "libxml2"}, {"foo", "1.9-r0", "foo"}}
	f.Build1 = f.Reg.PushLayers(t, f.Repo, "latest", t0, "linux/amd64",
		registrytest.Layer{"etc/os-release": "ID=wolfi\n", "lib/apk/db/installed": apkDB(b1)})
	f.Build2 = f.Reg.PushLayers(t, f.Repo, "latest", t0.Add(24*time.Hour), "linux/amd64",
		registrytest.Layer{"etc/os-release": "ID=wolfi\n", "lib/apk/db/installed": apkDB(b2)})
	if sbom {
		f.Reg.AttachSBOM(t, f.Repo, f.Build1, spdx(b1))
		f.Reg.AttachSBOM(t, f.Repo, f.Build2, spdx(b2))
	}
	f.SecDB = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		f.Hits.Add(1)
		w.Write([]byte(secdbDoc))
	}))
	t.Cleanup(f.SecDB.Close)
	return f
}

func differ(t testing.TB, dir string) *imagediff.Differ {
	dc := cache.New(dir, 0)
	c := registry.New(registry.Options{Cache: dc, Transport: registrytest.LoopbackTransport()})
	return &imagediff.Differ{Registry: c, History: &history.Client{Registry: c}, Inventory: &inventory.Fetcher{Registry: c, Cache: dc},
		SecDB: &vuln.Loader{HTTP: c.HTTP(), Cache: dc}}
}

func describe(r *imagediff.Result) string {
	var b strings.Builder
	for _, p := range r.Added {
		fmt.Fprintf(&b, "+%s@%s ", p.Name, p.Version)
	}
	for _, p := range r.Removed {
		fmt.Fprintf(&b, "-%s@%s ", p.Name, p.Version)
	}
	for _, c := range r.Changed {
		fmt.Fprintf(&b, "~%s@%s>%s(up=%v) ", c.Current.Name, c.Previous.Version, c.Current.Version, c.Upgrade)
	}
	for _, v := range r.VulnsRemoved {
		fmt.Fprintf(&b, "fixed:%s ", v.ID)
	}
	for _, v := range r.VulnsAdded {
		fmt.Fprintf(&b, "new:%s ", v.ID)
	}
	return strings.TrimSpace(b.String())
}

const want = "+libxml2@2.13.4-r0 -busybox@1.36.1-r1 ~foo@2.0-r0>1.9-r0(up=false) ~libssl3@3.4.0-r0>3.4.0-r1(up=true) fixed:CVE-2024-0001 fixed:CVE-2024-0003 new:CVE-2024-0002"

func TestDiffSBOMAndLayersAgree(t *testing.T) {
	f := NewFixture(t, true)
	for _, source := range []string{"sbom", "layers", "auto"} {
		t.Run(source, func(t *testing.T) {
			r, err := differ(t, t.TempDir()).Diff(context.Background(), f.Reg.Ref(f.Repo, "latest")+"~1", f.Reg.Ref(f.Repo, "latest"),
				imagediff.Options{Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, Source: source, Vulns: "secdb", SecDBURL: f.SecDB.URL})
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(r); got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
			if r.From.Digest != f.Build1 || r.To.Digest != f.Build2 || !r.VulnsChecked || len(r.Warnings) != 0 {
				t.Errorf("result %+v", r)
			}
		})
	}
}

func TestDiffCachesAndRevalidates(t *testing.T) {
	f := NewFixture(t, false)
	cache := t.TempDir()
	opts := imagediff.Options{Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, Vulns: "secdb", SecDBURL: f.SecDB.URL}
	from, to := f.Reg.Ref(f.Repo, "")+"@"+f.Build1.String(), f.Reg.Ref(f.Repo, "")+"@"+f.Build2.String()
	if _, err := differ(t, cache).Diff(context.Background(), from, to, opts); err != nil {
		t.Fatal(err)
	}
	f.Reg.ResetCounts()
	r, err := differ(t, cache).Diff(context.Background(), from, to, opts)
	if err != nil || describe(r) != want {
		t.Fatalf("%v %s", err, describe(r))
	}
	if c := f.Reg.Counts(); c.Blob != 0 || c.Manifest != 0 {
		t.Errorf("warm diff fetched %+v", c)
	}
	if f.Hits.Load() != 1 {
		t.Errorf("secdb downloaded %d times, want 1 (then 304)", f.Hits.Load())
	}
	// The secdb server is gone: the cached copy is used, with a warning.
	f.SecDB.Close()
	r, err = differ(t, cache).Diff(context.Background(), from, to, opts)
	if err != nil || describe(r) != want || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "using the cached security database") {
		t.Fatalf("stale secdb: %v %+v", err, r.Warnings)
	}
}

func TestDiffErrorsAndWarnings(t *testing.T) {
	f := NewFixture(t, false)
	d := differ(t, t.TempDir())
	amd := imagediff.Options{Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, Vulns: "secdb", SecDBURL: f.SecDB.URL}
	ref := f.Reg.Ref(f.Repo, "latest")
	// An unreachable secdb warns; the package diff still comes.
	bad := amd
	bad.SecDBURL = "http://127.0.0.1:1/security.json"
	r, err := d.Diff(context.Background(), ref+"~1", ref, bad)
	if err != nil || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "vulnerabilities not checked") || len(r.Changed) != 2 {
		t.Fatalf("%v %+v", err, r)
	}
	malformed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"packages": 7}`)) }))
	defer malformed.Close()
	cases := []struct {
		from, to string
		opts     imagediff.Options
		want     string
	}{
		{ref + "~1", ref, imagediff.Options{Platform: amd.Platform, Vulns: "secdb", SecDBURL: malformed.URL}, "malformed secdb"},
		{ref + "~5", ref, amd, "has only 2 builds"},
		{ref, ref, imagediff.Options{Platform: v1.Platform{OS: "linux", Architecture: "s390x"}, PlatformSet: true}, "has no linux/s390x image (it has linux/amd64)"},
		{f.Reg.Ref(f.Repo, "") + "@sha256:" + strings.Repeat("0", 64), ref, amd, "not found"},
		{ref, ref, imagediff.Options{Platform: amd.Platform, Source: "sbom"}, "no attestation tag"},
		{"x~y", ref, amd, "~N must be"},
	}
	for _, tc := range cases {
		if _, err := d.Diff(context.Background(), tc.from, tc.to, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s → %s: %v, want %q", tc.from, tc.to, err, tc.want)
		}
	}
}

func TestSharedCVEIsFixedPerPackage(t *testing.T) {
	f := func(id, origin string) vuln.Finding { return vuln.Finding{ID: id, Package: origin, Origin: origin} }
	added, removed := imagediff.Vulns([]vuln.Finding{f("CVE-1", "openssl"), f("CVE-1", "curl")}, []vuln.Finding{f("CVE-1", "curl"), f("CVE-2", "go")})
	if len(removed) != 1 || removed[0].Origin != "openssl" || len(added) != 1 || added[0].ID != "CVE-2" {
		t.Errorf("added %+v removed %+v", added, removed)
	}
}

func TestPackagesAndConfig(t *testing.T) {
	p := func(n, v string) inventory.Package {
		return inventory.Package{Name: n, Version: v, Type: "deb", Namespace: "debian"}
	}
	added, removed, changed := imagediff.Packages(
		[]inventory.Package{p("a", "1:1.0-1"), p("b", "1.0~rc1"), p("c", "1")},
		[]inventory.Package{p("a", "2.0-1"), p("b", "1.0"), p("d", "1")})
	if len(added) != 1 || added[0].Name != "d" || len(removed) != 1 || removed[0].Name != "c" || len(changed) != 2 ||
		changed[0].Upgrade || !changed[1].Upgrade {
		t.Errorf("added %v removed %v changed %+v", added, removed, changed)
	}
	cfg := imagediff.Config(&v1.Config{User: "65532", Env: []string{"PATH=/a", "X=1"}, Labels: map[string]string{"v": "1"}},
		&v1.Config{User: "65532", Env: []string{"PATH=/b"}, Entrypoint: []string{"/app"}, Labels: map[string]string{"v": "2"}})
	var fields []string
	for _, c := range cfg {
		fields = append(fields, c.Field)
	}
	if strings.Join(fields, ",") != "Entrypoint,Env PATH,Env X,Label v" {
		t.Errorf("config fields %v", fields)
	}
}
