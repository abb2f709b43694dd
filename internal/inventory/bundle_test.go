package inventory_test

import (
	"context"
	"errors"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/docker-cghistory/docker-cghistory/internal/inventory"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	"github.com/docker-cghistory/docker-cghistory/internal/sigverify"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"gotest.tools/v3/assert"
)

// An SBOM attestation published as cosign 3 does (a v0.3 Sigstore bundle
// with a DSSE envelope, a Rekor v2 entry and a signed timestamp, attached
// through the referrers API, no .att tag) is read and verified under
// --verify; a changed payload or another image's subject is an error.
func TestVerifiedSBOMBundle(t *testing.T) {
	s := registrytest.New(t)
	sig := registrytest.NewSigstore(t)
	const good, issuer = "https://issuer.enforce.dev/4cf15780a13a9b6576d8b357e6524554c8c12a18/0f5ea5d1b1b7ba31", "https://issuer.enforce.dev"
	pkgs := []apkPkg{{"glibc", "2.40-r3", "glibc"}}
	push := func(tag string) v1.Hash {
		return s.PushLayers(t, "acme/app", tag, t0, "linux/amd64", registrytest.Layer{"etc/os-release": osRelease, "lib/apk/db/installed": apkDB(pkgs...), "tag": tag})
	}
	signed, tampered, other := push("a"), push("b"), push("c")
	s.AttachSignedSBOMBundle(t, sig, "acme/app", signed, spdxFor(pkgs...), good, issuer, registrytest.AttestOptions{})
	s.AttachSignedSBOMBundle(t, sig, "acme/app", tampered, spdxFor(pkgs...), good, issuer, registrytest.AttestOptions{Tamper: true})
	s.AttachSignedSBOMBundle(t, sig, "acme/app", other, spdxFor(pkgs...), good, issuer, registrytest.AttestOptions{Subject: signed})
	c := registry.New(registry.Options{Transport: registrytest.LoopbackTransport()})
	f := &inventory.Fetcher{Registry: c, Cache: cache.New(t.TempDir(), 0),
		Verify: attestations{v: &sigverify.Verifier{Registry: c, Trusted: sig.VS}, policy: sigverify.Policy{IdentityRegexp: `^https://issuer\.enforce\.dev/`, Issuer: issuer}}}
	repo, _ := name.NewRepository(s.Host + "/acme/app")
	inv, err := f.Fetch(context.Background(), repo, signed, inventory.SourceSBOM)
	assert.NilError(t, err)
	assert.Equal(t, inv.Source, "sbom")
	assert.Equal(t, inv.VerifiedBy, good)
	assert.Equal(t, len(inv.Packages), 1)
	for _, tc := range []struct {
		d    v1.Hash
		want error
	}{{tampered, sigverify.ErrBadSignature}, {other, sigverify.ErrOtherImage}} {
		_, err := f.Fetch(context.Background(), repo, tc.d, inventory.SourceSBOM)
		assert.Assert(t, errors.Is(err, tc.want), "%s: %v, want %v", tc.d, err, tc.want)
	}
}
