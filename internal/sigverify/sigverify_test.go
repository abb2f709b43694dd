package sigverify_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	"github.com/docker-cghistory/docker-cghistory/internal/sigverify"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
)

const (
	identity = "https://github.com/acme/images/.github/workflows/release.yaml@refs/heads/main"
	issuer   = "https://token.actions.githubusercontent.com"
)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func TestVerify(t *testing.T) {
	s := registrytest.New(t)
	sig := registrytest.NewSigstore(t)
	other := registrytest.NewSigstore(t)
	push := func(repo string) v1.Hash { return s.Push(t, repo, "latest", t0).Digest }
	good := sigverify.Policy{Identity: identity, Issuer: issuer}
	cases := []struct {
		name    string
		setup   func(repo string, d v1.Hash)
		trusted root.TrustedMaterial
		policy  sigverify.Policy
		want    error // nil: verifies
		format  string
	}{
		{"cosign .sig tag", func(r string, d v1.Hash) { s.SignCosign(t, sig, r, d, identity, issuer, registrytest.SignOptions{}) }, sig.VS, good, nil, "cosign"},
		{"bundle through referrers", func(r string, d v1.Hash) { s.SignBundle(t, sig, r, d, identity, issuer) }, sig.VS, good, nil, "bundle"},
		{"identity by regexp", func(r string, d v1.Hash) { s.SignCosign(t, sig, r, d, identity, issuer, registrytest.SignOptions{}) }, sig.VS,
			sigverify.Policy{IdentityRegexp: `^https://github\.com/acme/`, IssuerRegexp: `^https://token\.actions\.`}, nil, "cosign"},
		{"unsigned", func(string, v1.Hash) {}, sig.VS, good, sigverify.ErrUnsigned, ""},
		{"an SBOM attestation bundle is no signature", func(r string, d v1.Hash) {
			s.AttachSignedSBOMBundle(t, sig, r, d, []byte(`{"spdxVersion":"SPDX-2.3","packages":[]}`), identity, issuer, registrytest.AttestOptions{})
		}, sig.VS, good, sigverify.ErrUnsigned, ""},
		{"wrong identity", func(r string, d v1.Hash) {
			s.SignCosign(t, sig, r, d, "https://github.com/evil/x/.github/workflows/r.yaml@refs/heads/main", issuer, registrytest.SignOptions{})
		}, sig.VS, good, sigverify.ErrWrongIdentity, ""},
		{"wrong issuer", func(r string, d v1.Hash) { s.SignBundle(t, sig, r, d, identity, "https://accounts.example.com") }, sig.VS, good, sigverify.ErrWrongIssuer, ""},
		{"signature over another digest", func(r string, d v1.Hash) {
			s.SignCosign(t, sig, r, d, identity, issuer, registrytest.SignOptions{OverDigest: v1.Hash{Algorithm: "sha256", Hex: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}})
		}, sig.VS, good, sigverify.ErrOtherImage, ""},
		{"cosign payload changed after signing", func(r string, d v1.Hash) {
			s.SignCosign(t, sig, r, d, identity, issuer, registrytest.SignOptions{Tamper: true})
		}, sig.VS, good, sigverify.ErrBadSignature, ""},
		{"no log entry nor timestamp", func(r string, d v1.Hash) {
			s.SignCosign(t, sig, r, d, identity, issuer, registrytest.SignOptions{NoLog: true})
		}, sig.VS, good, sigverify.ErrNotInLog, ""},
		{"untrusted root", func(r string, d v1.Hash) { s.SignCosign(t, sig, r, d, identity, issuer, registrytest.SignOptions{}) }, other.VS, good, sigverify.ErrUntrusted, ""},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			repo := "acme/img" + string(rune('a'+i))
			d := push(repo)
			tc.setup(repo, d)
			r, _ := name.NewRepository(s.Ref(repo, ""))
			v := &sigverify.Verifier{Registry: registry.New(registry.Options{Cache: cache.New(t.TempDir(), 0), Transport: registrytest.LoopbackTransport()}), Trusted: tc.trusted}
			res, err := v.Verify(context.Background(), r, d, tc.policy)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				if res.Format != tc.format || res.Identity != identity || res.Issuer != issuer {
					t.Errorf("result %+v", res)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestVerifyKey(t *testing.T) {
	s := registrytest.New(t)
	sig := registrytest.NewSigstore(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	d := s.Push(t, "acme/keyed", "latest", t0).Digest
	s.SignCosignKey(t, sig, "acme/keyed", d, key)
	r, _ := name.NewRepository(s.Ref("acme/keyed", ""))
	v := &sigverify.Verifier{Registry: registry.New(registry.Options{Transport: registrytest.LoopbackTransport()}), Trusted: sig.VS}
	res, err := v.Verify(context.Background(), r, d, sigverify.Policy{Key: key.Public()})
	if err != nil || res.Identity != "key" {
		t.Fatalf("key: %+v %v", res, err)
	}
	if _, err := v.Verify(context.Background(), r, d, sigverify.Policy{Key: other.Public()}); !errors.Is(err, sigverify.ErrWrongIdentity) {
		t.Errorf("another key: %v", err)
	}
	// A keyless signature does not satisfy a key policy, nor the reverse.
	if _, err := v.Verify(context.Background(), r, d, sigverify.Policy{Identity: identity, Issuer: issuer}); err == nil {
		t.Error("a key signature verified for an identity")
	}
}

func TestDefaultPolicy(t *testing.T) {
	cg, _ := name.NewRepository("cgr.dev/chainguard/nginx")
	p, err := sigverify.Policy{}.For(cg)
	if err != nil || p.Identity != sigverify.ChainguardIdentity || p.Issuer != sigverify.ChainguardIssuer {
		t.Errorf("chainguard default = %+v, %v", p, err)
	}
	org, _ := name.NewRepository("cgr.dev/acme.com/nginx")
	_, err = (sigverify.Policy{}).For(org)
	if err == nil {
		t.Fatal("an organisation repository got a default identity")
	}
	// The hint names what Chainguard signs organisation images with, not a
	// GitHub workflow.
	for _, want := range []string{"https://issuer.enforce.dev", "(<CATALOG_SYNCER>|<APKO_BUILDER>)", "chainctl iam account-associations describe acme.com -o json", ".chainguard.service_bindings"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("hint %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "github") || strings.Contains(err.Error(), "workflow") {
		t.Errorf("hint %q still points at a GitHub workflow", err)
	}
}
