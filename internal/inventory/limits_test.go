package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/inventory"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	"github.com/google/go-containerregistry/pkg/name"
)

// A status.d gzip bomb pushed as a real layer: files of zeros each under
// the per-file bound. The layer's database files are bounded as a whole
// (KeptPerLayer, lowered here to 8 MiB: decompressing under -race is slow;
// the end-to-end test TestHostileRegistriesThroughDocker bombs the default
// 64 MiB), so the inventory fails at the limit with the layer named,
// holding at most that much; before, every file was kept (3.5 GB for a
// 3.5 MB layer).
func TestStatusDBombIsBounded(t *testing.T) {
	s := registrytest.New(t)
	const each = 6 << 20
	d := s.PushBomb(t, "distroless/bomb", "v1",
		registrytest.BombFile{Path: "etc/os-release", Size: 0},
		registrytest.BombFile{Path: "var/lib/dpkg/status.d/a", Size: each},
		registrytest.BombFile{Path: "var/lib/dpkg/status.d/b", Size: each})
	repo, _ := name.NewRepository(s.Host + "/distroless/bomb")
	var err error
	f := fetcher(t)
	f.Limits = inventory.Limits{KeptPerLayer: 8 << 20}
	peak := registrytest.PeakHeap(func() { _, err = f.Fetch(context.Background(), repo, d, inventory.SourceLayers) })
	if !errors.Is(err, registry.ErrTooLarge) || !strings.Contains(err.Error(), "the package database files in layer sha256:") ||
		!strings.Contains(err.Error(), s.Host+"/distroless/bomb is too large: more than 8MiB, the limit per layer") {
		t.Fatalf("err = %v", err)
	}
	if peak > 64<<20 {
		t.Errorf("peak heap grew by %d MiB", peak>>20)
	}
	t.Logf("peak heap growth %d MiB", peak>>20)
}

// Every limit on reading layers, lowered so the layers stay small: one
// file, the files of a layer and of an image, the decompressed bytes of a
// layer and of an image. Each error names the repository and the limit.
func TestLayerLimits(t *testing.T) {
	s := registrytest.New(t)
	const kib = 1 << 10
	limits := inventory.Limits{File: 256 * kib, KeptPerLayer: 512 * kib, Kept: 768 * kib, LayerBytes: 2 << 20, ImageBytes: 3 << 20}
	pkg := func(name string, size int) string {
		head := fmt.Sprintf("Package: %s\nVersion: 1\nArchitecture: amd64\nDescription: x\n", name)
		return head + " " + strings.Repeat("x", size-len(head)-2) + "\n\n"
	}
	os := "ID=debian\n"
	cases := []struct {
		name   string
		layers []registrytest.Layer
		inErr  string
	}{
		{"within the limits", []registrytest.Layer{
			{"etc/os-release": os, "var/lib/dpkg/status.d/a": pkg("a", 225*kib), "junk": strings.Repeat("j", 3<<19)},
			{"var/lib/dpkg/status.d/b": pkg("b", 225*kib)},
		}, ""},
		{"one file", []registrytest.Layer{{"etc/os-release": os, "var/lib/dpkg/status.d/a": pkg("a", 375*kib)}},
			"var/lib/dpkg/status.d/a (375KiB) in layer sha256:"},
		{"files of a layer", []registrytest.Layer{{"etc/os-release": os, "var/lib/dpkg/status.d/a": pkg("a", 225*kib), "var/lib/dpkg/status.d/b": pkg("b", 225*kib), "var/lib/dpkg/status.d/c": pkg("c", 225*kib)}},
			"is too large: more than 512KiB, the limit per layer"},
		{"files of an image", []registrytest.Layer{
			{"etc/os-release": os, "var/lib/dpkg/status.d/a": pkg("a", 225*kib), "var/lib/dpkg/status.d/b": pkg("b", 225*kib)},
			{"var/lib/dpkg/status.d/c": pkg("c", 225*kib), "var/lib/dpkg/status.d/d": pkg("d", 225*kib)},
		}, "is too large: more than 768KiB over its layers, the limit per image"},
		{"bytes of a layer", []registrytest.Layer{{"etc/os-release": os, "var/lib/dpkg/status.d/a": pkg("a", 1*kib), "junk": strings.Repeat("j", 9<<18)}},
			"is too large: more than 2MiB decompressed, the limit per layer"},
		{"bytes of an image", []registrytest.Layer{
			{"etc/os-release": os, "var/lib/dpkg/status.d/a": pkg("a", 1*kib), "junk": strings.Repeat("j", 7<<18)},
			{"var/lib/dpkg/status.d/b": pkg("b", 1*kib), "junk2": strings.Repeat("j", 7<<18)},
		}, "is too large: more than 3MiB decompressed from its layers, the limit per image"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := s.PushLayers(t, "distroless/x", fmt.Sprint("v", i), t0, "linux/amd64", tc.layers...)
			repo, _ := name.NewRepository(s.Host + "/distroless/x")
			f := fetcher(t)
			f.Limits = limits
			inv, err := f.Fetch(context.Background(), repo, d, inventory.SourceLayers)
			if tc.inErr == "" {
				if err != nil || len(inv.Packages) != 2 {
					t.Fatalf("inventory %v, err %v", inv, err)
				}
				return
			}
			if !errors.Is(err, registry.ErrTooLarge) || !strings.Contains(err.Error(), tc.inErr) || !strings.Contains(err.Error(), s.Host+"/distroless/x") {
				t.Fatalf("err = %v\nwant ErrTooLarge naming the repository and %q", err, tc.inErr)
			}
		})
	}
}
