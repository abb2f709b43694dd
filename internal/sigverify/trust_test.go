package sigverify_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	"github.com/docker-cghistory/docker-cghistory/internal/sigverify"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// A trusted root with two logs that share a start date: cached
// verifications are keyed by the file's bytes, so every run (every load of
// the root) finds them and a warm run fetches no signature. Keyed by
// sigstore-go's re-serialised root, as before, the key changed from run to
// run with the order the two logs came out in.
func TestCacheKeyTwoLogsOneStartDate(t *testing.T) {
	s := registrytest.New(t)
	sig := registrytest.NewSigstore(t)
	raw := sig.TrustedRootJSONTwoLogs(t)
	path := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	want := "root:" + hex.EncodeToString(sum[:])

	// The old key, sigstore-go's serialisation, is unstable for this root.
	serialised := map[string]bool{}
	for range 64 {
		tr, err := root.NewTrustedRootFromJSON(raw)
		if err != nil {
			t.Fatal(err)
		}
		b, err := tr.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		serialised[string(b)] = true
	}
	if len(serialised) < 2 {
		t.Fatal("the fixture no longer reproduces the unstable serialisation (sigstore-go fixed it?): the test proves nothing")
	}

	const repoName = "acme/cached"
	d := s.Push(t, repoName, "latest", t0).Digest
	s.SignCosign(t, sig, repoName, d, identity, issuer, registrytest.SignOptions{})
	repo, _ := name.NewRepository(s.Ref(repoName, ""))
	cacheDir := t.TempDir()
	policy := sigverify.Policy{Identity: identity, Issuer: issuer}
	run := func() {
		t.Helper()
		tm, key, err := sigverify.LoadTrustedRoot(path, "")
		if err != nil {
			t.Fatal(err)
		}
		if key != want {
			t.Fatalf("key = %s, want the file's sha256 %s", key, want)
		}
		c := cache.New(cacheDir, 0)
		v := &sigverify.Verifier{Registry: registry.New(registry.Options{Cache: c, Transport: registrytest.LoopbackTransport()}), Trusted: tm, Cache: c, TrustKey: key}
		if _, err := v.Verify(context.Background(), repo, d, policy); err != nil {
			t.Fatalf("verify: %v", err)
		}
	}
	run() // cold
	for i := range 8 {
		s.ResetCounts()
		run()
		if n := s.Counts().Total; n != 0 {
			t.Fatalf("warm run %d: %d registry requests, want none", i+1, n)
		}
	}
}

func TestLoadTrustedRootBounded(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, []byte(strings.Repeat(" ", sigverify.MaxTrustedRoot+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := sigverify.LoadTrustedRoot(big, ""); err == nil || !strings.Contains(err.Error(), "4 MiB") {
		t.Errorf("an oversized root: %v", err)
	}
}
