package commands

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/config"
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
	v := verifyOptions{Enabled: true, Identity: signer, Issuer: ghOIDC, TrustedRoot: root}
	err := runPinOpts(context.Background(), cli, pinOptions{paths: []string{dir}, PinFlags: config.PinFlags{Jobs: 8, Verify: v}})
	assert.ErrorContains(t, err, "compose.yaml:5: "+s.Ref("acme/bad", "latest")+": not pinned to sha256:")
	assert.ErrorContains(t, err, "wrong identity")
	assert.ErrorContains(t, err, "compose.yaml:7: "+s.Ref("acme/none", "latest")+": not pinned to sha256:")
	assert.ErrorContains(t, err, "no signature")
	assert.Assert(t, !strings.Contains(err.Error(), "acme/good"), err.Error())
	got, _ := os.ReadFile(compose)
	assert.Equal(t, string(got), content, "a failed verification wrote the file")

	// Only the signed image: pinned.
	assert.NilError(t, os.WriteFile(compose, []byte("services:\n  a:\n    image: "+s.Ref("acme/good", "latest")+"\n"), 0o644))
	assert.NilError(t, runPinOpts(context.Background(), cli, pinOptions{paths: []string{dir}, PinFlags: config.PinFlags{Jobs: 8, Verify: v}}))
	got, _ = os.ReadFile(compose)
	assert.Assert(t, strings.Contains(string(got), "@sha256:"), string(got))

	// --check --verify fails on an existing pin that does not verify.
	bad := s.History("acme/bad", "latest")[0].Digest
	assert.NilError(t, os.WriteFile(compose, []byte("services:\n  b:\n    image: "+s.Ref("acme/bad", "latest")+"@"+bad+"\n"), 0o644))
	err = runPinOpts(context.Background(), cli, pinOptions{paths: []string{dir}, PinFlags: config.PinFlags{Jobs: 8, Check: true, Verify: v}})
	assert.ErrorContains(t, err, "the pinned build "+bad+" does not verify")
	// …also with --update, where the pin stays (it is the tag's current build).
	err = runPinOpts(context.Background(), cli, pinOptions{paths: []string{dir}, PinFlags: config.PinFlags{Jobs: 8, Check: true, Update: true, Verify: v}})
	assert.ErrorContains(t, err, "the pinned build "+bad+" does not verify")
	// Without --verify the same check passes; flags without --verify are refused.
	assert.NilError(t, runPinOpts(context.Background(), cli, pinOptions{paths: []string{dir}, PinFlags: config.PinFlags{Jobs: 8, Check: true}}))
	assert.ErrorContains(t, runPinOpts(context.Background(), cli, pinOptions{paths: []string{dir}, PinFlags: config.PinFlags{Jobs: 8, Verify: verifyOptions{Identity: signer}}}), "go with --verify")
	// An organisation repository without an identity: say which.
	assert.ErrorContains(t, runPinOpts(context.Background(), cli, pinOptions{paths: []string{dir}, PinFlags: config.PinFlags{Jobs: 8, Check: true, Verify: verifyOptions{Enabled: true, TrustedRoot: root}}}), "say which identity signs")
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
	opts := historyOptions{image: s.Ref("acme/app", "latest"), now: func() time.Time { return now }, HistoryFlags: config.HistoryFlags{Format: "{{.Signature}}", Verify: verifyOptions{Enabled: true, Identity: signer, Issuer: ghOIDC, TrustedRoot: root}}}
	assert.NilError(t, runHistoryOpts(context.Background(), cli, opts))
	assert.Equal(t, out.String(), "no signature\nverified\nverified\n")
	out.Reset()
	opts.Format = "json"
	assert.NilError(t, runHistoryOpts(context.Background(), cli, opts))
	assert.Assert(t, strings.Contains(out.String(), `"Signature":{"Verified":true,"Identity":"`+signer+`","Issuer":"`+ghOIDC+`","Format":"bundle"}`), out.String())
	out.Reset()
	opts.Format = ""
	assert.NilError(t, runHistoryOpts(context.Background(), cli, opts))
	assert.Assert(t, strings.HasPrefix(out.String(), "UPDATED") && strings.Contains(strings.Split(out.String(), "\n")[0], "SIGNATURE"), out.String())
}

func TestDiffVerify(t *testing.T) {
	s := registrytest.New(t)
	sig := registrytest.NewSigstore(t)
	layer := func(ver string) registrytest.Layer {
		return registrytest.Layer{"etc/os-release": "ID=wolfi\n", "lib/apk/db/installed": "P:libssl3\nV:" + ver + "\nA:x86_64\no:openssl\n\n"}
	}
	spdx := func(ver string) []byte {
		return []byte(`{"spdxVersion":"SPDX-2.3","packages":[{"SPDXID":"SPDXRef-1","name":"libssl3","versionInfo":"` + ver + `","externalRefs":[{"referenceCategory":"PACKAGE_MANAGER","referenceType":"purl","referenceLocator":"pkg:apk/wolfi/libssl3@` + ver + `?arch=x86_64"}]}]}`)
	}
	b1 := s.PushLayers(t, "acme/app", "latest", now.Add(-2*3600e9), "linux/amd64", layer("3.4.0-r0"))
	b2 := s.PushLayers(t, "acme/app", "latest", now.Add(-1*3600e9), "linux/amd64", layer("3.4.0-r1"))
	s.AttachSignedSBOM(t, sig, "acme/app", b1, spdx("3.4.0-r0"), signer, ghOIDC, registrytest.AttestOptions{})
	s.AttachSignedSBOM(t, sig, "acme/app", b2, spdx("3.4.0-r1"), signer, ghOIDC, registrytest.AttestOptions{})
	root := filepath.Join(t.TempDir(), "trusted_root.json")
	assert.NilError(t, os.WriteFile(root, sig.TrustedRootJSON(t), 0o644))
	v := verifyOptions{Enabled: true, Identity: signer, Issuer: ghOIDC, TrustedRoot: root}
	from, to := s.Ref("acme/app", "")+"@"+b1.String(), s.Ref("acme/app", "")+"@"+b2.String()
	diff := func(from, to string, v verifyOptions) (string, error) {
		cli, out, _ := newTestCLI(t, `{}`)
		err := runDiffOpts(context.Background(), cli, diffOptions{from: from, to: to, DiffFlags: config.DiffFlags{Format: "json", Source: "auto", Vulns: "none", Verify: v}})
		return out.String(), err
	}
	out, err := diff(from, to, v)
	assert.NilError(t, err)
	assert.Assert(t, strings.Count(out, `"sbomVerified": true`) == 2 && strings.Count(out, `"sbomVerifiedBy": "`+signer+`"`) == 2, out)

	// Each failure is an error with --verify, and its own reason.
	b3 := s.PushLayers(t, "acme/app", "v3", now, "linux/amd64", layer("3.4.0-r2"))
	s.AttachSignedSBOM(t, sig, "acme/app", b3, spdx("3.4.0-r2"), signer, ghOIDC, registrytest.AttestOptions{Tamper: true})
	b4 := s.PushLayers(t, "acme/app", "v4", now, "linux/amd64", layer("3.4.0-r3"))
	s.AttachSignedSBOM(t, sig, "acme/app", b4, spdx("3.4.0-r3"), signer, ghOIDC, registrytest.AttestOptions{Subject: b1})
	b5 := s.PushLayers(t, "acme/app", "v5", now, "linux/amd64", layer("3.4.0-r4"))
	s.AttachSignedSBOM(t, sig, "acme/app", b5, spdx("3.4.0-r4"), "https://github.com/evil/x/.github/workflows/r.yaml@refs/heads/main", ghOIDC, registrytest.AttestOptions{})
	b6 := s.PushLayers(t, "acme/app", "v6", now, "linux/amd64", layer("3.4.0-r5"))
	s.AttachSBOM(t, "acme/app", b6, spdx("3.4.0-r5")) // unsigned (cosign-style, no certificate)
	for d, want := range map[string]string{b3.String(): "bad signature", b4.String(): "signature is for another image", b5.String(): "wrong identity", b6.String(): "no signature"} {
		_, err := diff(from, s.Ref("acme/app", "")+"@"+d, v)
		assert.ErrorContains(t, err, "SBOM attestation in sha256-")
		assert.ErrorContains(t, err, want)
	}
	// Without --verify the unsigned SBOM is read as before.
	out, err = diff(from, s.Ref("acme/app", "")+"@"+b6.String(), verifyOptions{})
	assert.NilError(t, err)
	assert.Assert(t, strings.Contains(out, `"sbomVerified": false`), out)
}

// A file named as a key or trusted root may be anything, a token too: the
// errors name it and say what is wrong, never quote it.
func TestVerifyFilesNeverEchoed(t *testing.T) {
	const secret = "dckr_pat_7Hq2SECRETxYz"
	s, root := signedRegistry(t)
	dir := t.TempDir()
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte("services:\n  a:\n    image: "+s.Ref("acme/good", "latest")+"\n"), 0o644))
	file := func(name, content string) string {
		p := filepath.Join(t.TempDir(), name)
		assert.NilError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	cli, _, _ := newTestCLI(t, `{}`)
	run := func(v verifyOptions) error {
		v.Enabled = true
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			err = runPinOpts(context.Background(), cli, pinOptions{paths: []string{dir}, PinFlags: config.PinFlags{Jobs: 8, Check: true, Verify: v}})
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("blocked for 20s")
		}
		assert.Assert(t, err != nil && !strings.Contains(err.Error(), secret), "%v", err)
		return err
	}
	for _, content := range []string{secret + "\n", "-----BEGIN PUBLIC KEY-----\n" + secret + "\n-----END PUBLIC KEY-----\n", `{"` + secret + `": 1}`} {
		key := file("cosign.pub", content)
		assert.ErrorContains(t, run(verifyOptions{Key: key, TrustedRoot: root}), "--key "+key+": not a PEM public key")
	}
	tr := file("root.json", secret)
	assert.ErrorContains(t, run(verifyOptions{Identity: signer, Issuer: ghOIDC, TrustedRoot: tr}), "--trusted-root "+tr+": not JSON (a syntax error at byte 1)")
	tr = file("root.json", "{\n  \""+secret+"\": 1}")
	assert.ErrorContains(t, run(verifyOptions{Identity: signer, Issuer: ghOIDC, TrustedRoot: tr}), "--trusted-root "+tr+": not a Sigstore trusted_root.json (at line 2:3)")
	tr = file("root.json", `{"mediaType": "`+secret+`"}`)
	assert.ErrorContains(t, run(verifyOptions{Identity: signer, Issuer: ghOIDC, TrustedRoot: tr}), "not a Sigstore trusted_root.json")
	// A flag may name any file, but only a regular one of at most 1 MiB.
	assert.ErrorContains(t, run(verifyOptions{Identity: signer, Issuer: ghOIDC, TrustedRoot: "/dev/zero"}), "--trusted-root: /dev/zero: not a regular file")
	assert.ErrorContains(t, run(verifyOptions{Key: "/dev/zero"}), "--key: /dev/zero: not a regular file")
	big := file("big.json", `{"x":"`+strings.Repeat("a", 1<<20)+`"}`)
	assert.ErrorContains(t, run(verifyOptions{Identity: signer, Issuer: ghOIDC, TrustedRoot: big}), "--trusted-root: "+big+": larger than the 1 MiB limit")
}

// A policy file's trusted-root and key are relative to it, wherever the
// command runs, and stay inside the repository.
func TestPolicyFileVerifyPaths(t *testing.T) {
	s, root := signedRegistry(t)
	repo := t.TempDir()
	deploy := filepath.Join(repo, "deploy")
	for _, d := range []string{filepath.Join(repo, ".git"), filepath.Join(repo, "certs"), deploy} {
		assert.NilError(t, os.MkdirAll(d, 0o755))
	}
	b, err := os.ReadFile(root)
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(filepath.Join(repo, "certs", "root.json"), b, 0o644))
	compose := filepath.Join(deploy, "compose.yaml")
	assert.NilError(t, os.WriteFile(compose, []byte("services:\n  a:\n    image: "+s.Ref("acme/good", "latest")+"\n"), 0o644))
	policyFile := filepath.Join(deploy, ".cgpin.yaml")
	setPolicy := func(trustedRoot string) {
		assert.NilError(t, os.WriteFile(policyFile, []byte("verify: true\ncertificate-identity: "+signer+"\ncertificate-oidc-issuer: "+ghOIDC+"\ntrusted-root: "+trustedRoot+"\n"), 0o644))
	}
	cli, _, _ := newTestCLI(t, `{}`)
	run := func() error {
		return runPinOpts(context.Background(), cli, pinOptions{paths: []string{compose}, PinFlags: config.PinFlags{Jobs: 8}})
	}

	setPolicy("../certs/root.json") // relative to deploy/, not to the working directory
	assert.NilError(t, run())
	got, _ := os.ReadFile(compose)
	assert.Assert(t, strings.Contains(string(got), "@sha256:"), string(got))

	for val, want := range map[string]string{
		"/etc/passwd":           `trusted-root: "/etc/passwd" is an absolute path`,
		"/dev/zero":             `trusted-root: "/dev/zero" is an absolute path`,
		"../../outside.json":    `trusted-root: "../../outside.json" leaves the repository ` + repo,
		"../certs/missing.json": "trusted-root: " + filepath.Join(repo, "certs", "missing.json") + ": no such file or directory",
	} {
		setPolicy(val)
		assert.ErrorContains(t, run(), policyFile+":4: "+want)
	}
}
