package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

func TestVerifyThroughDocker(t *testing.T) {
	t.Parallel()
	const signer = "https://github.com/acme/images/.github/workflows/release.yaml@refs/heads/main"
	const issuer = "https://token.actions.githubusercontent.com"
	s := registrytest.New(t)
	sig := registrytest.NewSigstore(t)
	layer := func(ver string) registrytest.Layer {
		return registrytest.Layer{"etc/os-release": "ID=wolfi\n", "lib/apk/db/installed": "P:libssl3\nV:" + ver + "\nA:x86_64\no:openssl\n\n"}
	}
	spdx := func(ver string) []byte {
		return []byte(`{"spdxVersion":"SPDX-2.3","packages":[{"SPDXID":"SPDXRef-1","name":"libssl3","versionInfo":"` + ver + `","externalRefs":[{"referenceCategory":"PACKAGE_MANAGER","referenceType":"purl","referenceLocator":"pkg:apk/wolfi/libssl3@` + ver + `?arch=x86_64"}]}]}`)
	}
	now := time.Now().UTC()
	b1 := s.PushLayers(t, "acme/app", "latest", now.Add(-3*time.Hour), "linux/amd64", layer("3.4.0-r0"))
	b2 := s.PushLayers(t, "acme/app", "latest", now.Add(-2*time.Hour), "linux/amd64", layer("3.4.0-r1"))
	s.PushLayers(t, "acme/app", "latest", now.Add(-1*time.Hour), "linux/amd64", layer("3.4.0-r2"))
	s.SignCosign(t, sig, "acme/app", b1, signer, issuer, registrytest.SignOptions{})
	s.SignBundle(t, sig, "acme/app", b2, signer, issuer)
	s.AttachSignedSBOM(t, sig, "acme/app", b1, spdx("3.4.0-r0"), signer, issuer, registrytest.AttestOptions{})
	s.AttachSignedSBOM(t, sig, "acme/app", b2, spdx("3.4.0-r1"), signer, issuer, registrytest.AttestOptions{})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keyed := s.Push(t, "acme/keyed", "latest", now, "linux/amd64")
	s.SignCosignKey(t, sig, "acme/keyed", keyed.Digest, key)

	dir := t.TempDir()
	root := filepath.Join(dir, "trusted_root.json")
	pub := filepath.Join(dir, "cosign.pub")
	pem, _ := cryptoutils.MarshalPublicKeyToPEM(key.Public())
	if err := os.WriteFile(root, sig.TrustedRootJSON(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, pem, 0o644); err != nil {
		t.Fatal(err)
	}
	d := newDockerEnv(t, "")
	policy := []string{"--verify", "--certificate-identity", signer, "--certificate-oidc-issuer", issuer, "--trusted-root", root}
	ref := s.Ref("acme/app", "latest")

	r := d.docker(append(append([]string{"cghistory", "--format", "{{.Signature}}"}, policy...), ref)...).ok(t)
	if r.stdout != "no signature\nverified\nverified\n" {
		t.Errorf("cghistory --verify = %q", r.stdout)
	}
	r = d.docker(append(append([]string{"cgdiff", "--vulns", "none"}, policy...), s.Ref("acme/app", "@"+b1.String()), s.Ref("acme/app", "@"+b2.String()))...).ok(t)
	if strings.Count(r.stdout, "sbom signed by "+signer) != 2 {
		t.Errorf("cgdiff --verify:\n%s", r.stdout)
	}
	compose := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(compose, []byte("services:\n  app:\n    image: "+ref+"\n  keyed:\n    image: "+s.Ref("acme/keyed", "latest")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.docker(append(append([]string{"cgpin", "--kind", "compose"}, policy...), compose)...).fails(t, "no signature")
	// Back to the last signed build; the keyed image fails the identity policy…
	d.docker(append(append([]string{"cgpin", "--at", now.Add(-90 * time.Minute).Format(time.RFC3339)}, policy...), compose)...).fails(t, "acme/keyed:latest")
	// …and verifies with its key.
	if err := os.WriteFile(compose, []byte("services:\n  keyed:\n    image: "+s.Ref("acme/keyed", "latest")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.docker("cgpin", "--verify", "--key", pub, "--trusted-root", root, compose).ok(t)
	if got, _ := os.ReadFile(compose); !strings.Contains(string(got), "@"+keyed.Digest.String()) {
		t.Errorf("key-verified pin = %q", got)
	}
	d.docker("cgpin", "--check", "--verify", "--key", pub, "--trusted-root", root, compose).ok(t)
}
