package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
)

// cgdiff --verify reads SBOM attestations published as cosign 3 publishes
// them (v0.3 Sigstore bundles with a DSSE envelope, a Rekor v2 entry and a
// signed timestamp, through the referrers API, no .att tag); one changed
// after signing is a bad signature, and so is a .sig payload changed after
// signing (cghistory --verify), not "not in the transparency log".
func TestVerifyBundlesThroughDocker(t *testing.T) {
	t.Parallel()
	const signer = "https://issuer.enforce.dev/4cf15780a13a9b6576d8b357e6524554c8c12a18/0f5ea5d1b1b7ba31"
	const issuer = "https://issuer.enforce.dev"
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
	b3 := s.PushLayers(t, "acme/app", "latest", now.Add(-1*time.Hour), "linux/amd64", layer("3.4.0-r2"))
	s.AttachSignedSBOMBundle(t, sig, "acme/app", b1, spdx("3.4.0-r0"), signer, issuer, registrytest.AttestOptions{})
	s.AttachSignedSBOMBundle(t, sig, "acme/app", b2, spdx("3.4.0-r1"), signer, issuer, registrytest.AttestOptions{})
	s.AttachSignedSBOMBundle(t, sig, "acme/app", b3, spdx("3.4.0-r2"), signer, issuer, registrytest.AttestOptions{Tamper: true})
	s.SignCosign(t, sig, "acme/app", b1, signer, issuer, registrytest.SignOptions{})
	s.SignCosign(t, sig, "acme/app", b2, signer, issuer, registrytest.SignOptions{Tamper: true})

	root := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(root, sig.TrustedRootJSON(t), 0o644); err != nil {
		t.Fatal(err)
	}
	d := newDockerEnv(t, "")
	policy := []string{"--verify", "--certificate-identity-regexp", `^https://issuer\.enforce\.dev/`, "--certificate-oidc-issuer", issuer, "--trusted-root", root}
	at := func(h interface{ String() string }) string { return s.Ref("acme/app", "@"+h.String()) }

	r := d.docker(append(append([]string{"cgdiff", "--vulns", "none", "--source", "sbom"}, policy...), at(b1), at(b2))...).ok(t)
	if strings.Count(r.stdout, "sbom signed by "+signer) != 2 || !strings.Contains(r.stdout, "3.4.0-r0 → 3.4.0-r1") {
		t.Errorf("cgdiff --verify over bundle SBOMs:\n%s", r.stdout)
	}
	d.docker(append(append([]string{"cgdiff", "--vulns", "none"}, policy...), at(b2), at(b3))...).fails(t, "bad signature")

	r = d.docker(append(append([]string{"cghistory", "--format", "{{.Signature}}"}, policy...), s.Ref("acme/app", "latest"))...).ok(t)
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 3 || lines[0] != "no signature" || !strings.HasPrefix(lines[1], "bad signature") || lines[2] != "verified" {
		t.Errorf("cghistory --verify = %q, want no signature, bad signature, verified", r.stdout)
	}
}
