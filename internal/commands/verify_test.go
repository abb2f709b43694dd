package commands

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	"gotest.tools/v3/assert"
)

const (
	signer = "https://github.com/acme/images/.github/workflows/release.yaml@refs/heads/main"
	ghOIDC = "https://token.actions.githubusercontent.com"
)

// signedRegistry has acme/good (signed by signer, both formats on two
// builds), acme/bad (signed by someone else) and acme/none (unsigned), and
// the virtual Sigstore's trusted root in a file.
func signedRegistry(t *testing.T) (*registrytest.Server, string) {
	s := registrytest.New(t)
	sig := registrytest.NewSigstore(t)
	good := s.Push(t, "acme/good", "latest", now.Add(-48e9*3600/1e9))
	s.SignCosign(t, sig, "acme/good", good.Digest, signer, ghOIDC, registrytest.SignOptions{})
	bad := s.Push(t, "acme/bad", "latest", now)
	s.SignBundle(t, sig, "acme/bad", bad.Digest, "https://github.com/evil/x/.github/workflows/r.yaml@refs/heads/main", ghOIDC)
	s.Push(t, "acme/none", "latest", now)
	root := filepath.Join(t.TempDir(), "trusted_root.json")
	assert.NilError(t, os.WriteFile(root, sig.TrustedRootJSON(t), 0o644))
	return s, root
}

func TestPinVerify(t *testing.T) {
	s, root := signedRegistry(t)
	dir := t.TempDir()
	compose := filepath.Join(dir, "compose.yaml")
	content := "services:\n  a:\n    image: " + s.Ref("acme/good", "latest") + "\n  b:\n    image: " + s.Ref("acme/bad", "latest") + "\n  c:\n    image: " + s.Ref("acme/none", "latest") + "\n"
	assert.NilError(t, os.WriteFile(compose, []byte(content), 0o644))
	cli, _, _ := newTestCLI(t, `{}`)
	v := verifyOptions{verify: true, identity: signer, issuer: ghOIDC, trustedRoot: root}
	err := runPin(context.Background(), cli, pinOptions{paths: []string{dir}, jobs: 8, verify: v})
	assert.ErrorContains(t, err, "compose.yaml:5: "+s.Ref("acme/bad", "latest")+": not pinned to sha256:")
	assert.ErrorContains(t, err, "wrong identity")
	assert.ErrorContains(t, err, "compose.yaml:7: "+s.Ref("acme/none", "latest")+": not pinned to sha256:")
	assert.ErrorContains(t, err, "no signature")
	assert.Assert(t, !strings.Contains(err.Error(), "acme/good"), err.Error())
	got, _ := os.ReadFile(compose)
	assert.Equal(t, string(got), content, "a failed verification wrote the file")

	// Only the signed image: pinned.
	assert.NilError(t, os.WriteFile(compose, []byte("services:\n  a:\n    image: "+s.Ref("acme/good", "latest")+"\n"), 0o644))
	assert.NilError(t, runPin(context.Background(), cli, pinOptions{paths: []string{dir}, jobs: 8, verify: v}))
	got, _ = os.ReadFile(compose)
	assert.Assert(t, strings.Contains(string(got), "@sha256:"), string(got))

	// --check --verify fails on an existing pin that does not verify.
	bad := s.History("acme/bad", "latest")[0].Digest
	assert.NilError(t, os.WriteFile(compose, []byte("services:\n  b:\n    image: "+s.Ref("acme/bad", "latest")+"@"+bad+"\n"), 0o644))
	err = runPin(context.Background(), cli, pinOptions{paths: []string{dir}, jobs: 8, check: true, verify: v})
	assert.ErrorContains(t, err, "the pinned build "+bad+" does not verify")
	// Without --verify the same check passes; flags without --verify are refused.
	assert.NilError(t, runPin(context.Background(), cli, pinOptions{paths: []string{dir}, jobs: 8, check: true}))
	assert.ErrorContains(t, runPin(context.Background(), cli, pinOptions{paths: []string{dir}, jobs: 8, verify: verifyOptions{identity: signer}}), "go with --verify")
	// An organisation repository without an identity: say which.
	assert.ErrorContains(t, runPin(context.Background(), cli, pinOptions{paths: []string{dir}, jobs: 8, check: true, verify: verifyOptions{verify: true, trustedRoot: root}}), "say which identity signs")
}

func TestHistoryVerify(t *testing.T) {
	s := registrytest.New(t)
	sig := registrytest.NewSigstore(t)
	b1 := s.Push(t, "acme/app", "latest", now.Add(-3*3600e9))
	b2 := s.Push(t, "acme/app", "latest", now.Add(-2*3600e9))
	s.Push(t, "acme/app", "latest", now.Add(-1*3600e9))
	s.SignCosign(t, sig, "acme/app", b1.Digest, signer, ghOIDC, registrytest.SignOptions{})
	s.SignBundle(t, sig, "acme/app", b2.Digest, signer, ghOIDC)
	root := filepath.Join(t.TempDir(), "trusted_root.json")
	assert.NilError(t, os.WriteFile(root, sig.TrustedRootJSON(t), 0o644))
	cli, out, _ := newTestCLI(t, `{}`)
	opts := historyOptions{image: s.Ref("acme/app", "latest"), format: "{{.Signature}}", now: func() time.Time { return now },
		verify: verifyOptions{verify: true, identity: signer, issuer: ghOIDC, trustedRoot: root}}
	assert.NilError(t, runHistory(context.Background(), cli, opts))
	assert.Equal(t, out.String(), "no signature\nverified\nverified\n")
	out.Reset()
	opts.format = "json"
	assert.NilError(t, runHistory(context.Background(), cli, opts))
	assert.Assert(t, strings.Contains(out.String(), `"Signature":{"Verified":true,"Identity":"`+signer+`","Issuer":"`+ghOIDC+`","Format":"bundle"}`), out.String())
	out.Reset()
	opts.format = ""
	assert.NilError(t, runHistory(context.Background(), cli, opts))
	assert.Assert(t, strings.HasPrefix(out.String(), "UPDATED") && strings.Contains(strings.Split(out.String(), "\n")[0], "SIGNATURE"), out.String())
}
