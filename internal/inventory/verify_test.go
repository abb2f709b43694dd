package inventory_test

import (
	"context"
	"strings"
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

// attestations checks SBOM attestations for one identity.
type attestations struct {
	v      *sigverify.Verifier
	policy sigverify.Policy
}

func (a attestations) VerifyAttestation(repo name.Repository, image v1.Hash, l v1.Descriptor, env []byte) (string, error) {
	r, err := a.v.VerifyAttestation(repo, image, l, env, a.policy)
	return r.Identity, err
}

// Without --verify, an SBOM that fails its check is passed over with a
// warning, and the layers are read; a verified one is used and says by whom.
func TestSoftVerification(t *testing.T) {
	s := registrytest.New(t)
	sig := registrytest.NewSigstore(t)
	const good, issuer = "https://github.com/acme/x/.github/workflows/r.yaml@refs/heads/main", "https://token.actions.githubusercontent.com"
	pkgs := []apkPkg{{"glibc", "2.40-r3", "glibc"}}
	signed := s.PushLayers(t, "acme/app", "a", t0, "linux/amd64", registrytest.Layer{"etc/os-release": osRelease, "lib/apk/db/installed": apkDB(pkgs...)})
	s.AttachSignedSBOM(t, sig, "acme/app", signed, spdxFor(pkgs...), good, issuer, registrytest.AttestOptions{})
	forged := s.PushLayers(t, "acme/app", "b", t0, "linux/amd64", registrytest.Layer{"etc/os-release": osRelease, "lib/apk/db/installed": apkDB(pkgs...), "x": "y"})
	s.AttachSignedSBOM(t, sig, "acme/app", forged, spdxFor(pkgs...), "https://github.com/evil/x/.github/workflows/r.yaml@refs/heads/main", issuer, registrytest.AttestOptions{})
	c := registry.New(registry.Options{Transport: registrytest.LoopbackTransport()})
	f := &inventory.Fetcher{Registry: c, Cache: cache.New(t.TempDir(), 0), Soft: true,
		Verify: attestations{v: &sigverify.Verifier{Registry: c, Trusted: sig.VS}, policy: sigverify.Policy{Identity: good, Issuer: issuer}}}
	repo, _ := name.NewRepository(s.Host + "/acme/app")
	inv, err := f.Fetch(context.Background(), repo, signed, inventory.SourceAuto)
	assert.NilError(t, err)
	assert.Equal(t, inv.Source, "sbom")
	assert.Equal(t, inv.VerifiedBy, good)
	inv, err = f.Fetch(context.Background(), repo, forged, inventory.SourceAuto)
	assert.NilError(t, err)
	assert.Equal(t, inv.Source, "layers")
	assert.Assert(t, strings.Contains(inv.Warning, "does not verify") && strings.Contains(inv.Warning, "wrong identity"), inv.Warning)
}
