package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
)

// A repository's .cgpin.yaml names files only inside the repository, and
// no file named as a key or trusted root is ever quoted.
func TestPolicyFileThroughDocker(t *testing.T) {
	t.Parallel()
	const secret = "dckr_pat_7Hq2SECRETxYz"
	s := registrytest.New(t)
	s.Push(t, "acme/app", "latest", time.Now())
	base := t.TempDir()
	repo := filepath.Join(base, "repo")
	if err := os.MkdirAll(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile := func(p, content string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	compose := filepath.Join(repo, "compose.yaml")
	writeFile(compose, "services:\n  app:\n    image: "+s.Ref("acme/app", "latest")+"\n")
	tokenFile := filepath.Join(base, "token")
	writeFile(tokenFile, secret+"\n")
	if err := os.Symlink(tokenFile, filepath.Join(repo, "token-link")); err != nil {
		t.Fatal(err)
	}
	policyFile := filepath.Join(repo, ".cgpin.yaml")
	d := newDockerEnv(t, "")

	for val, want := range map[string]string{
		"/etc/passwd":     `trusted-root: "/etc/passwd" is an absolute path: paths in .cgpin.yaml are relative to it and stay inside the repository ` + repo,
		"/dev/zero":       `trusted-root: "/dev/zero" is an absolute path`,
		"../token":        `trusted-root: "../token" leaves the repository ` + repo,
		"token-link":      `trusted-root: "token-link" is a symbolic link out of the repository ` + repo,
		"certs/root.json": "trusted-root: " + filepath.Join(repo, "certs", "root.json") + ": no such file or directory",
	} {
		writeFile(policyFile, "verify: true\ntrusted-root: "+val+"\ncertificate-identity: x\ncertificate-oidc-issuer: y\n")
		r := d.docker("cgpin", "--check", compose).fails(t, policyFile+":2: "+want)
		assertNoSecret(t, r, secret)
	}
	// Flags may name any file the user wants, but only regular ones, and
	// their content never appears.
	os.Remove(policyFile)
	r := d.docker("cgpin", "--check", "--verify", "--key", tokenFile, compose).fails(t, "--key "+tokenFile+": not a PEM public key")
	assertNoSecret(t, r, secret)
	r = d.docker("cgpin", "--check", "--verify", "--certificate-identity", "x", "--certificate-oidc-issuer", "y", "--trusted-root", tokenFile, compose).fails(t, "--trusted-root "+tokenFile+": not JSON")
	assertNoSecret(t, r, secret)
	d.docker("cgpin", "--check", "--verify", "--key", "/dev/zero", compose).fails(t, "--key: /dev/zero: not a regular file")

	// Without .git, only the directory given is looked at: a policy file
	// planted above it does not apply.
	writeFile(filepath.Join(base, ".cgpin.yaml"), "frobnicate: 1\n")
	work := filepath.Join(base, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	r = d.docker("cgpin", "--show-config", work).ok(t)
	if strings.Contains(r.stdout+r.stderr, ".cgpin.yaml") {
		t.Errorf("a policy file above the directory applied:\n%s\n%s", r.stdout, r.stderr)
	}
	// A world-writable directory's policy file is refused.
	writeFile(filepath.Join(work, ".cgpin.yaml"), "update: true\n")
	if err := os.Chmod(work, 0o777); err != nil {
		t.Fatal(err)
	}
	d.docker("cgpin", "--show-config", work).fails(t, filepath.Join(work, ".cgpin.yaml")+": refused: its directory "+work+" is writable by other users")
}
