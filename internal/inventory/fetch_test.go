package inventory_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/inventory"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	"github.com/google/go-containerregistry/pkg/name"
)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

const osRelease = "ID=wolfi\nNAME=\"Wolfi\"\n"

type apkPkg struct{ name, version, origin string }

func apkDB(pkgs ...apkPkg) string {
	var b strings.Builder
	for _, p := range pkgs {
		fmt.Fprintf(&b, "C:Q1x=\nP:%s\nV:%s\nA:x86_64\no:%s\nm:wolfi\n\n", p.name, p.version, p.origin)
	}
	return b.String()
}

func spdxFor(pkgs ...apkPkg) []byte {
	type ref struct {
		Category string `json:"referenceCategory"`
		Type     string `json:"referenceType"`
		Locator  string `json:"referenceLocator"`
	}
	var ps []map[string]any
	ps = append(ps, map[string]any{"SPDXID": "SPDXRef-img", "name": "img", "externalRefs": []ref{{"PACKAGE_MANAGER", "purl", "pkg:oci/img@sha256:00?arch=amd64"}}})
	for i, p := range pkgs {
		ps = append(ps, map[string]any{
			"SPDXID": fmt.Sprintf("SPDXRef-Package-%d", i), "name": p.name, "versionInfo": p.version,
			"externalRefs": []ref{
				{"PACKAGE_MANAGER", "purl", fmt.Sprintf("pkg:apk/wolfi/%s@%s?arch=x86_64&distro=wolfi", p.name, p.version)},
				{"PACKAGE_MANAGER", "purl", fmt.Sprintf("pkg:github/wolfi-dev/os@abc#%s.yaml", p.origin)},
			},
		})
	}
	b, _ := json.Marshal(map[string]any{"spdxVersion": "SPDX-2.3", "packages": ps})
	return b
}

func fetcher(t testing.TB) *inventory.Fetcher {
	dc := cache.New(t.TempDir(), 0)
	return &inventory.Fetcher{Registry: registry.New(registry.Options{Cache: dc, Transport: registrytest.LoopbackTransport()}), Cache: dc}
}

func summary(inv *inventory.Inventory) string {
	var parts []string
	for _, p := range inv.Packages {
		parts = append(parts, fmt.Sprintf("%s=%s(%s)", p.Key(), p.Version, p.Origin))
	}
	return strings.Join(parts, " ")
}

func TestSBOMAndLayersAgree(t *testing.T) {
	s := registrytest.New(t)
	pkgs := []apkPkg{{"glibc", "2.40-r3", "glibc"}, {"libssl3", "3.4.0-r1", "openssl"}, {"wolfi-baselayout", "20230201-r15", "wolfi-baselayout"}}
	d := s.PushLayers(t, "chainguard/app", "latest", t0, "linux/amd64",
		registrytest.Layer{"etc/os-release": osRelease, "lib/apk/db/installed": apkDB(pkgs[:1]...)},
		registrytest.Layer{"lib/apk/db/installed": apkDB(pkgs...), "usr/bin/app": "binary"})
	s.AttachSBOM(t, "chainguard/app", d, spdxFor(pkgs...))
	repo, _ := name.NewRepository(s.Host + "/chainguard/app")

	f := fetcher(t)
	sbom, err := f.Fetch(context.Background(), repo, d, inventory.SourceSBOM)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := f.Fetch(context.Background(), repo, d, inventory.SourceLayers)
	if err != nil {
		t.Fatal(err)
	}
	if sbom.Source != "sbom" || layers.Source != "layers" || sbom.Distro != "wolfi" || layers.Distro != "wolfi" {
		t.Errorf("sources %s/%s, distros %s/%s", sbom.Source, layers.Source, sbom.Distro, layers.Distro)
	}
	if summary(sbom) != summary(layers) || len(sbom.Packages) != 3 {
		t.Fatalf("sbom   %s\nlayers %s", summary(sbom), summary(layers))
	}
	// Cached by digest: a second fetch downloads nothing.
	s.ResetCounts()
	if _, err := f.Fetch(context.Background(), repo, d, inventory.SourceAuto); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Fetch(context.Background(), repo, d, inventory.SourceLayers); err != nil {
		t.Fatal(err)
	}
	if c := s.Counts(); c.Blob != 0 {
		t.Errorf("cached fetch downloaded %d blobs", c.Blob)
	}
}

func TestLayersStopEarlyAndHonourWhiteouts(t *testing.T) {
	s := registrytest.New(t)
	d := s.PushLayers(t, "chainguard/app", "v1", t0, "linux/amd64",
		registrytest.Layer{"etc/os-release": "ID=alpine\n", "lib/apk/db/installed": apkDB(apkPkg{"old", "1-r0", "old"})},
		registrytest.Layer{"big/file": strings.Repeat("x", 1<<16)},
		registrytest.Layer{"etc/os-release": osRelease, "lib/apk/db/installed": apkDB(apkPkg{"new", "2-r0", "new"})})
	repo, _ := name.NewRepository(s.Host + "/chainguard/app")
	s.ResetCounts()
	f := fetcher(t)
	inv, err := f.Fetch(context.Background(), repo, d, inventory.SourceAuto)
	if err != nil {
		t.Fatal(err)
	}
	if summary(inv) != "apk/wolfi/new=2-r0(new)" || inv.Source != "layers" {
		t.Errorf("got %s from %s", summary(inv), inv.Source)
	}
	if c := s.Counts(); c.Blob != 1 {
		t.Errorf("downloaded %d layers, want only the top one", c.Blob)
	}

	// A whiteout of the database in the top layer hides the lower one.
	d2 := s.PushLayers(t, "chainguard/app", "v2", t0, "linux/amd64",
		registrytest.Layer{"lib/apk/db/installed": apkDB(apkPkg{"old", "1-r0", "old"})},
		registrytest.Layer{"lib/apk/db/.wh.installed": "", "etc/os-release": osRelease})
	_, err = fetcher(t).Fetch(context.Background(), repo, d2, inventory.SourceAuto)
	if !errors.Is(err, inventory.ErrNoInventory) || !strings.Contains(err.Error(), "lib/apk/db/installed") || !strings.Contains(err.Error(), "SPDX SBOM") {
		t.Fatalf("err = %v", err)
	}
	// --source sbom without an attestation says so.
	_, err = fetcher(t).Fetch(context.Background(), repo, d, inventory.SourceSBOM)
	if !errors.Is(err, inventory.ErrNoInventory) || !strings.Contains(err.Error(), ".att") {
		t.Fatalf("sbom err = %v", err)
	}
}

func TestDistrolessStatusD(t *testing.T) {
	s := registrytest.New(t)
	pkg := func(name, ver string) string {
		return fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: amd64\n\n", name, ver)
	}
	d := s.PushLayers(t, "distroless/base", "v1", t0, "linux/amd64",
		registrytest.Layer{"etc/os-release": "ID=debian\n", "var/lib/dpkg/status.d/libc6": pkg("libc6", "2.36-9+deb12u4"), "var/lib/dpkg/status.d/gone": pkg("gone", "1")},
		registrytest.Layer{"var/lib/dpkg/status.d/tzdata": pkg("tzdata", "2024a-0+deb12u1"), "var/lib/dpkg/status.d/.wh.gone": ""})
	repo, _ := name.NewRepository(s.Host + "/distroless/base")
	inv, err := fetcher(t).Fetch(context.Background(), repo, d, inventory.SourceLayers)
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(inv); got != "deb/debian/libc6=2.36-9+deb12u4(libc6) deb/debian/tzdata=2024a-0+deb12u1(tzdata)" {
		t.Errorf("got %s", got)
	}
}

func TestSBOMThroughReferrers(t *testing.T) {
	s := registrytest.New(t)
	pkgs := []apkPkg{{"glibc", "2.40-r3", "glibc"}}
	d := s.PushLayers(t, "chainguard/app", "latest", t0, "linux/amd64",
		registrytest.Layer{"etc/os-release": osRelease, "lib/apk/db/installed": apkDB(pkgs...)})
	s.AttachSBOMReferrer(t, "chainguard/app", d, spdxFor(pkgs...))
	repo, _ := name.NewRepository(s.Host + "/chainguard/app")
	inv, err := fetcher(t).Fetch(context.Background(), repo, d, inventory.SourceSBOM)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Source != "sbom" || summary(inv) != "apk/wolfi/glibc=2.40-r3(glibc)" {
		t.Errorf("got %s from %s", summary(inv), inv.Source)
	}
}
