package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// mirrorFixture is an upstream registry with the tag history API and a
// pull-through cache of it without one, each with its own credentials. The
// cache keeps the organisation under "cgr-remote/chainguard" (it has b1
// and b2, its tag is stale on b2, and it cannot serve b3) and drops it
// under "flat" (it has every build, its tag also stale on b2).
type mirrorFixture struct {
	up, mirror     *registrytest.Server
	b1, b2, b3     v1.Hash
	config         string // config.json with both registries' credentials
	keep, flat     string // the mirror's references
	upRef          string
	keepMap, flatM string // --registry-map pairs
}

func newMirrorFixture(t *testing.T) mirrorFixture {
	up := registrytest.New(t, registrytest.WithUser("up-user", "up-secret-1"), registrytest.WithPublic())
	mirror := registrytest.New(t, registrytest.WithoutHistory(), registrytest.WithUser("mirror-user", "mirror-secret-2"), registrytest.WithPublic())
	layer := func(ver string) registrytest.Layer {
		return registrytest.Layer{"etc/os-release": "ID=wolfi\n", "lib/apk/db/installed": "P:libssl3\nV:" + ver + "\nA:x86_64\no:openssl\n\n"}
	}
	now := time.Now().UTC()
	f := mirrorFixture{up: up, mirror: mirror}
	f.b1 = up.PushLayers(t, "chainguard/app", "latest", now.Add(-5*24*time.Hour), "linux/amd64", layer("3.4.0-r0"))
	f.b2 = up.PushLayers(t, "chainguard/app", "latest", now.Add(-3*24*time.Hour), "linux/amd64", layer("3.4.0-r1"))
	f.b3 = up.PushLayers(t, "chainguard/app", "latest", now.Add(-1*24*time.Hour), "linux/amd64", layer("3.4.0-r2"))
	up.AttachSBOM(t, "chainguard/app", f.b3, []byte(`{"spdxVersion":"SPDX-2.3","packages":[{"SPDXID":"SPDXRef-1","name":"libssl3","versionInfo":"3.4.0-r2","externalRefs":[{"referenceCategory":"PACKAGE_MANAGER","referenceType":"purl","referenceLocator":"pkg:apk/wolfi/libssl3@3.4.0-r2?arch=x86_64"}]}]}`))
	for _, d := range []v1.Hash{f.b1, f.b2} {
		mirror.Mirror(t, up, "chainguard/app", d, "cgr-remote/chainguard/app", "")
		mirror.Mirror(t, up, "chainguard/app", d, "flat/app", "")
	}
	mirror.Mirror(t, up, "chainguard/app", f.b3, "flat/app", "")
	mirror.Mirror(t, up, "chainguard/app", f.b2, "cgr-remote/chainguard/app", "latest")
	mirror.Mirror(t, up, "chainguard/app", f.b2, "flat/app", "latest")
	auth := func(u, p string) string { return base64.StdEncoding.EncodeToString([]byte(u + ":" + p)) }
	f.config = fmt.Sprintf(`{"auths":{%q:{"auth":%q},%q:{"auth":%q}}}`, up.Host, auth("up-user", "up-secret-1"), mirror.Host, auth("mirror-user", "mirror-secret-2"))
	f.keep, f.flat = mirror.Ref("cgr-remote/chainguard/app", "latest"), mirror.Ref("flat/app", "latest")
	f.upRef = up.Ref("chainguard/app", "latest")
	f.keepMap = mirror.Host + "/cgr-remote/chainguard=" + up.Host + "/chainguard"
	f.flatM = mirror.Host + "/flat=" + up.Host + "/chainguard"
	return f
}

// counted runs a command and logs the requests it made of each registry.
func (f mirrorFixture) counted(t *testing.T, what string, run func() result) result {
	f.up.ResetCounts()
	f.mirror.ResetCounts()
	r := run()
	u, m := f.up.Counts(), f.mirror.Counts()
	t.Logf("%s: upstream %d requests (%d token, %d history, %d manifest, %d blob), mirror %d (%d token, %d manifest, %d blob)",
		what, u.Total, u.Token, u.History, u.Manifest, u.Blob, m.Total, m.Token, m.Manifest, m.Blob)
	return r
}

func TestMirrorsThroughDocker(t *testing.T) {
	t.Parallel()
	f := newMirrorFixture(t)
	d := newDockerEnv(t, f.config)
	maps := []string{"--registry-map", f.keepMap, "--registry-map", f.flatM}

	// Without a map the mirror has no history: the current digest, and why.
	d.docker("cghistory", f.keep).fails(t, "does not offer the tag history API")

	// cghistory: the upstream's history under the mirror's name.
	r := f.counted(t, "cghistory --platforms", func() result {
		return d.docker(append([]string{"cghistory", "--format", "json", "--platforms"}, append(maps, f.keep)...)...).ok(t)
	})
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 {
		t.Fatalf("history:\n%s\n%s", r.stdout, r.stderr)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first["Digest"] != f.b3.String() || first["Upstream"] != f.up.Ref("chainguard/app", "") || !strings.Contains(first["Image"].(string), "cgr-remote") {
		t.Errorf("newest entry = %v", first)
	}
	if ps, _ := first["Platforms"].([]any); len(ps) != 1 { // b3's manifest came from upstream
		t.Errorf("platforms of b3 = %v", first["Platforms"])
	}
	assertNoSecret(t, r, "up-secret-1")
	assertNoSecret(t, r, "mirror-secret-2")

	// cgpin: the mirror's name is kept; the digest comes from upstream and
	// the mirror must serve it; a stale mirror tag is reported.
	dir := t.TempDir()
	flatFile := filepath.Join(dir, "flat", "compose.yaml")
	keepFile := filepath.Join(dir, "keep", "compose.yaml")
	for p, ref := range map[string]string{flatFile: f.flat, keepFile: f.keep} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("services:\n  app:\n    image: "+ref+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r = f.counted(t, "cgpin (one reference)", func() result {
		return d.docker(append(append([]string{"cgpin"}, maps...), filepath.Dir(flatFile))...).ok(t)
	})
	if got, _ := os.ReadFile(flatFile); string(got) != "services:\n  app:\n    image: "+f.flat+"@"+f.b3.String()+"\n" {
		t.Errorf("flat pin = %q", got)
	}
	if !strings.Contains(r.stderr, "warning: mirror is 1 builds behind upstream") {
		t.Errorf("no stale-mirror warning:\n%s", r.stderr)
	}
	d.docker(append(append([]string{"cgpin"}, maps...), filepath.Dir(keepFile))...).fails(t, "the mirror "+f.mirror.Ref("cgr-remote/chainguard/app", "")+" cannot serve "+f.b3.String())
	if got, _ := os.ReadFile(keepFile); strings.Contains(string(got), "@") {
		t.Errorf("a failed pin wrote %q", got)
	}
	// --at reads the upstream history: b2, which the mirror has.
	d.docker(append(append([]string{"cgpin", "--at", "2d"}, maps...), filepath.Dir(keepFile))...).ok(t)
	if got, _ := os.ReadFile(keepFile); !strings.Contains(string(got), f.keep+"@"+f.b2.String()) {
		t.Errorf("--at pin = %q", got)
	}
	// --outdated counts against the upstream and flags the stale mirror.
	r = f.counted(t, "cgpin --outdated (one pin)", func() result {
		return d.docker(append(append([]string{"cgpin", "--outdated", "--format", "{{.Behind}} {{.Note}}"}, maps...), filepath.Dir(keepFile))...).ok(t)
	})
	if !strings.Contains(r.stdout, "1 mirror is 1 builds behind upstream") {
		t.Errorf("--outdated = %q", r.stdout)
	}

	// cgdiff: manifests and layers from the mirror, the SBOM (which the
	// mirror lacks) from upstream; the same answer as upstream's.
	mirrorDiff := f.counted(t, "cgdiff (cold cache)", func() result {
		return d.run("", []string{"CGHISTORY_CACHE_DIR=" + t.TempDir()}, append(append([]string{"cgdiff", "--vulns", "none", "--format", "json"}, maps...), f.flat+"@"+f.b2.String(), f.flat+"@"+f.b3.String())...).ok(t)
	})
	upDiff := d.docker("cgdiff", "--vulns", "none", "--format", "json", f.upRef+"@"+f.b2.String(), f.upRef+"@"+f.b3.String()).ok(t)
	strip := func(s string) string {
		return strings.NewReplacer(f.mirror.Ref("flat/app", ""), "X", f.up.Ref("chainguard/app", ""), "X").Replace(s)
	}
	if strip(mirrorDiff.stdout) != strip(upDiff.stdout) || !strings.Contains(mirrorDiff.stdout, `"source": "sbom"`) {
		t.Errorf("mirror diff:\n%s\nupstream diff:\n%s", mirrorDiff.stdout, upDiff.stdout)
	}

	// auth: both sides, each with its own credentials.
	r = f.counted(t, "cghistory auth", func() result {
		return d.docker(append(append([]string{"cghistory", "auth"}, maps...), f.keep)...).ok(t)
	})
	if !strings.Contains(r.stdout, "mirror-user") || !strings.Contains(r.stdout, "up-user") || strings.Count(r.stdout, "pull granted") != 2 {
		t.Errorf("auth:\n%s", r.stdout)
	}
}

// The map comes from config.json, .cgpin.yaml and --registry-map; for the
// same mirror prefix the flag wins over the file, the file over config.json.
func TestMirrorMapPrecedence(t *testing.T) {
	t.Parallel()
	f := newMirrorFixture(t)
	wrong := f.mirror.Host + "/flat=" + f.up.Host + "/nowhere"
	var cfg map[string]any
	if err := json.Unmarshal([]byte(f.config), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["plugins"] = map[string]any{"cghistory": map[string]string{"registry-map": wrong + "," + f.keepMap}}
	b, _ := json.Marshal(cfg)
	d := newDockerEnv(t, string(b))
	// config.json alone: keep-org maps, flat maps to a repository that is not there.
	d.docker("cghistory", "-q", "-n", "1", f.keep).ok(t)
	d.docker("cghistory", "-q", f.flat).fails(t, "nowhere")
	// The flag wins.
	r := d.docker("cghistory", "-q", "-n", "1", "--registry-map", f.flatM, f.flat).ok(t)
	if strings.TrimSpace(r.stdout) != f.b3.String() {
		t.Errorf("flag: %q", r.stdout)
	}
	// .cgpin.yaml wins over config.json for cgpin.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".cgpin.yaml"), []byte("registry-map: ["+f.flatM+"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	compose := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(compose, []byte("services:\n  app:\n    image: "+f.flat+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.docker("cgpin", dir).ok(t)
	if got, _ := os.ReadFile(compose); !strings.Contains(string(got), "@"+f.b3.String()) {
		t.Errorf("policy-file map: %q", got)
	}
	r = d.docker("cgpin", "--show-config", dir).ok(t)
	if !strings.Contains(r.stdout, "registry-map") || !strings.Contains(r.stdout, ".cgpin.yaml:1") {
		t.Errorf("--show-config:\n%s", r.stdout)
	}
}
