package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
)

// With a trusted root of two logs that share a start date, a warm
// cghistory --verify fetches no signature: cached verifications are keyed by
// the root file's bytes, not by sigstore-go's re-serialisation of it (whose
// log order changed from run to run, so warm runs re-fetched every one).
func TestVerifyCacheTwoLogsThroughDocker(t *testing.T) {
	t.Parallel()
	const signer = "https://github.com/acme/images/.github/workflows/release.yaml@refs/heads/main"
	const issuer = "https://token.actions.githubusercontent.com"
	s := registrytest.New(t)
	sig := registrytest.NewSigstore(t)
	now := time.Now().UTC()
	for i := range 3 {
		b := s.Push(t, "acme/app", "latest", now.Add(time.Duration(i-3)*time.Hour), "linux/amd64")
		s.SignCosign(t, sig, "acme/app", b.Digest, signer, issuer, registrytest.SignOptions{})
	}
	root := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(root, sig.TrustedRootJSONTwoLogs(t), 0o644); err != nil {
		t.Fatal(err)
	}
	d := newDockerEnv(t, "")
	args := []string{"cghistory", "-q", "--verify", "--certificate-identity", signer, "--certificate-oidc-issuer", issuer, "--trusted-root", root, s.Ref("acme/app", "latest")}
	d.docker(args...).ok(t) // cold
	// Each run loads the root afresh. With the old key, the first run that
	// saw the other log order missed the cache and fetched every signature
	// again: eight warm runs all hit it by chance one time in 256.
	for i := range 8 {
		s.ResetCounts()
		d.docker(args...).ok(t)
		if c := s.Counts(); c.Manifest+c.Blob > 0 {
			t.Fatalf("warm run %d fetched %d manifests and %d blobs, want none (signatures are cached)", i+1, c.Manifest, c.Blob)
		}
	}
}
