package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/config"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"gotest.tools/v3/assert"
)

// policyFixture is a tag whose history has what update policies judge:
// b1 has CVE-2024-0001, b2 rebuilds b1 (same packages, new digest), b3
// fixes the CVE, b4 adds libxml2 (and CVE-2024-0002, fixed by no build).
// chainguard/old stopped moving 60 days ago.
type policyFixture struct {
	s              *registrytest.Server
	secdb          string
	b1, b2, b3, b4 v1.Hash
	ref            string
}

func newPolicyFixture(t *testing.T) policyFixture {
	s := registrytest.New(t)
	db := func(pkgs ...string) registrytest.Layer {
		var b strings.Builder
		for _, p := range pkgs {
			f := strings.Fields(p)
			fmt.Fprintf(&b, "P:%s\nV:%s\nA:x86_64\no:%s\n\n", f[0], f[1], f[2])
		}
		return registrytest.Layer{"etc/os-release": "ID=wolfi\n", "lib/apk/db/installed": b.String()}
	}
	day := 24 * time.Hour
	push := func(age time.Duration, l registrytest.Layer) v1.Hash {
		return s.PushLayers(t, "chainguard/app", "latest", now.Add(-age), "linux/amd64", l)
	}
	f := policyFixture{s: s, ref: s.Ref("chainguard/app", "latest")}
	f.b1 = push(10*day, db("glibc 2.40-r3 glibc", "libssl3 3.4.0-r0 openssl"))
	f.b2 = push(8*day, db("glibc 2.40-r3 glibc", "libssl3 3.4.0-r0 openssl"))
	f.b3 = push(6*day, db("glibc 2.40-r3 glibc", "libssl3 3.4.0-r1 openssl"))
	f.b4 = push(1*day, db("glibc 2.40-r3 glibc", "libssl3 3.4.0-r1 openssl", "libxml2 2.13.4-r0 libxml2"))
	s.PushLayers(t, "chainguard/old", "latest", now.Add(-60*day), "linux/amd64", db("glibc 2.40-r3 glibc"))
	sec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"packages":[{"pkg":{"name":"openssl","secfixes":{"3.4.0-r1":["CVE-2024-0001"]}}},{"pkg":{"name":"libxml2","secfixes":{"2.13.5-r0":["CVE-2024-0002"]}}}]}`))
	}))
	t.Cleanup(sec.Close)
	f.secdb = sec.URL
	t.Setenv("CGHISTORY_SECDB", sec.URL)
	return f
}

// pinned writes a compose file pinning the fixture's tag to d and returns
// its path and a reader of its pinned digest.
func (f policyFixture) pinned(t *testing.T, d v1.Hash) (string, func() string) {
	dir := t.TempDir()
	p := filepath.Join(dir, "compose.yaml")
	assert.NilError(t, os.WriteFile(p, []byte("services:\n  app:\n    image: "+f.ref+"@"+d.String()+"\n"), 0o644))
	return dir, func() string {
		b, err := os.ReadFile(p)
		assert.NilError(t, err)
		_, digest, _ := strings.Cut(strings.TrimSpace(string(b)), "@")
		return digest
	}
}

func TestUpdatePolicies(t *testing.T) {
	f := newPolicyFixture(t)
	clock := func() time.Time { return now }
	cases := []struct {
		name   string
		from   v1.Hash
		opts   pinOptions
		want   v1.Hash
		stderr string // in the notes or summary
		stdout string
	}{
		{"plain update", f.b1, pinOptions{PinFlags: config.PinFlags{Update: true}}, f.b4, "", ""},
		{"changed packages", f.b1, pinOptions{PinFlags: config.PinFlags{OnlyIfChanged: "packages"}}, f.b4, "", ""},
		{"no-op rebuild held", f.b1, pinOptions{PinFlags: config.PinFlags{OnlyIfChanged: "packages", At: "7d"}}, f.b1, "not moved: rebuild, same packages", ""},
		{"a real change under --at", f.b1, pinOptions{PinFlags: config.PinFlags{OnlyIfChanged: "packages", At: "5d"}}, f.b3, "", ""},
		{"vulns: a fix moves", f.b1, pinOptions{PinFlags: config.PinFlags{OnlyIfChanged: "vulns"}}, f.b4, "1 moved for a CVE fix", "(fixes CVE-2024-0001)"},
		{"vulns: no fix holds", f.b3, pinOptions{PinFlags: config.PinFlags{OnlyIfChanged: "vulns"}}, f.b3, "not moved: newer build fixes no CVE", ""},
		{"fixes: the oldest build that fixes", f.b1, pinOptions{PinFlags: config.PinFlags{Fixes: []string{"CVE-2024-0001"}}}, f.b3, "", "(fixes CVE-2024-0001)"},
		{"fixes: not affected", f.b3, pinOptions{PinFlags: config.PinFlags{Fixes: []string{"CVE-2024-0001"}}}, f.b3, "not moved: not affected by CVE-2024-0001", ""},
		{"cooldown takes a fix early", f.b1, pinOptions{PinFlags: config.PinFlags{Update: true, Cooldown: "7d"}}, f.b4, "1 moved for a CVE fix", "(taken within the cooldown)"},
		{"strict cooldown does not", f.b1, pinOptions{PinFlags: config.PinFlags{Update: true, Cooldown: "7d", CooldownStrict: true}}, f.b2, "", ""},
		{"check with a policy", f.b1, pinOptions{PinFlags: config.PinFlags{OnlyIfChanged: "vulns", Check: true}}, f.b1, "Would pin 1 reference", "(fixes CVE-2024-0001)"},
		{"explain with a policy", f.b1, pinOptions{PinFlags: config.PinFlags{Fixes: []string{"CVE-2024-0001"}, Explain: true}}, f.b3, "", "(fixes CVE-2024-0001)\n    libssl3 3.4.0-r0→3.4.0-r1 (fixes CVE-2024-0001)"},
		{"ignored", f.b1, pinOptions{PinFlags: config.PinFlags{Update: true, Ignore: []string{"*/chainguard/app:*"}}}, f.b1, "ignored (*/chainguard/app:*)", ""},
		{"ignored then taken back", f.b1, pinOptions{PinFlags: config.PinFlags{Update: true, Ignore: []string{"*/chainguard/*", "!*/chainguard/app:latest"}}}, f.b4, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, digest := f.pinned(t, tc.from)
			cli, out, errb := newTestCLI(t, `{}`)
			t.Setenv("CGHISTORY_SECDB", f.secdb)
			tc.opts.paths, tc.opts.Jobs, tc.opts.now = []string{dir}, 8, clock
			err := runPinOpts(context.Background(), cli, tc.opts)
			if tc.opts.Check {
				assert.ErrorContains(t, err, "1 reference is not pinned")
			} else {
				assert.NilError(t, err)
			}
			assert.Equal(t, digest(), tc.want.String(), "stdout:\n%s\nstderr:\n%s", out, errb)
			assert.Assert(t, strings.Contains(errb.String(), tc.stderr), errb.String())
			assert.Assert(t, strings.Contains(out.String(), tc.stdout), out.String())
		})
	}
}

func TestFixesErrors(t *testing.T) {
	f := newPolicyFixture(t)
	dir, digest := f.pinned(t, f.b4)
	cli, _, _ := newTestCLI(t, `{}`)
	err := runPinOpts(context.Background(), cli, pinOptions{paths: []string{dir}, now: func() time.Time { return now }, PinFlags: config.PinFlags{Jobs: 8, Fixes: []string{"CVE-2024-0002"}}})
	assert.ErrorContains(t, err, "compose.yaml:3: "+f.ref+"@"+f.b4.String()+": no build of "+f.ref+" fixes CVE-2024-0002")
	assert.Equal(t, digest(), f.b4.String())
	for _, bad := range []config.PinFlags{{Fixes: []string{"openssl"}}, {OnlyIfChanged: "size"}, {Fixes: []string{"CVE-1"}, At: "1d"}, {Ignore: []string{"["}}} {
		bad := pinOptions{paths: []string{dir}, PinFlags: bad}
		bad.Jobs = 8
		assert.Assert(t, runPinOpts(context.Background(), cli, bad) != nil, "%+v accepted", bad)
	}
}

func TestOutdated(t *testing.T) {
	f := newPolicyFixture(t)
	oldRef := f.s.Ref("chainguard/old", "latest")
	oldDigest := f.s.History("chainguard/old", "latest")[0].Digest
	dir := t.TempDir()
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte("services:\n"+
		"  a:\n    image: "+f.ref+"@"+f.b1.String()+"\n"+
		"  b:\n    image: "+f.ref+"@"+f.b4.String()+"\n"+
		"  c:\n    image: "+f.ref+"\n"+
		"  d:\n    image: "+oldRef+"@"+oldDigest+"\n"), 0o644))
	cli, out, _ := newTestCLI(t, `{}`)
	t.Setenv("CGHISTORY_SECDB", f.secdb)
	opts := pinOptions{paths: []string{dir}, now: func() time.Time { return now }, PinFlags: config.PinFlags{Jobs: 8, Outdated: true, StaleAfter: "30d", Format: "json"}}
	assert.NilError(t, runPinOpts(context.Background(), cli, opts))
	var rows []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		assert.NilError(t, json.Unmarshal([]byte(line), &m))
		rows = append(rows, m)
	}
	assert.Equal(t, len(rows), 4, out.String())
	a, b, c, d := rows[0], rows[1], rows[2], rows[3]
	assert.Equal(t, a["BuildsBehind"], float64(3))
	assert.Equal(t, a["DaysBehind"], float64(8))
	assert.Equal(t, a["PackagesChanged"], float64(2))
	assert.DeepEqual(t, a["CVEsFixed"], []any{"CVE-2024-0001"})
	assert.Equal(t, b["BuildsBehind"], float64(0))
	assert.Equal(t, c["Pinned"], false)
	assert.Equal(t, d["Stale"], true)
	assert.Assert(t, strings.HasPrefix(d["Note"].(string), "stale: no build for 60 days"), d["Note"])

	// The table, and --exit-code with and without tolerance.
	out.Reset()
	opts.Format, opts.ExitCode = "", true
	err := runPinOpts(context.Background(), cli, opts)
	assert.ErrorContains(t, err, "1 pin is behind their tags")
	lines := strings.Split(out.String(), "\n")
	assert.Assert(t, strings.HasPrefix(lines[0], "LOCATION"), out.String())
	assert.Assert(t, strings.Contains(lines[1], "2026-11-13") && strings.Contains(lines[1], "CVE-2024-0001"), lines[1])
	opts.MaxBehind = 3
	assert.NilError(t, runPinOpts(context.Background(), cli, opts))
	opts.MaxBehind, opts.MaxAge = 0, "9d"
	assert.NilError(t, runPinOpts(context.Background(), cli, opts))
	opts.MaxAge = "7d"
	assert.ErrorContains(t, runPinOpts(context.Background(), cli, opts), "behind")

	// Markdown, for an issue or pull request.
	out.Reset()
	opts.Format, opts.ExitCode = "markdown", false
	assert.NilError(t, runPinOpts(context.Background(), cli, opts))
	assert.Assert(t, strings.Contains(out.String(), "| unpinned |"), out.String())
}

func TestPolicyFile(t *testing.T) {
	f := newPolicyFixture(t)
	repo := t.TempDir()
	assert.NilError(t, os.Mkdir(filepath.Join(repo, ".git"), 0o755))
	sub := filepath.Join(repo, "services", "app")
	assert.NilError(t, os.MkdirAll(sub, 0o755))
	compose := filepath.Join(sub, "compose.yaml")
	write := func(p, s string) { assert.NilError(t, os.WriteFile(p, []byte(s), 0o644)) }
	write(compose, "services:\n  app:\n    image: "+f.ref+"@"+f.b1.String()+"\n")
	write(filepath.Join(repo, ".cgpin.yaml"), "# team policy\nupdate: true\ncooldown: 7d\ncooldown-strict: true\nignore-images:\n  - example.com/*\nkinds: [compose, dockerfile]\n")
	cli, out, _ := newTestCLI(t, `{}`)
	run := func(opts pinOptions, changed ...string) error {
		opts.paths, opts.now = []string{sub}, func() time.Time { return now }
		if opts.Jobs == 0 {
			opts.Jobs = 8
		}
		opts.changed = func(flag string) bool { return slices.Contains(changed, flag) }
		return runPinOpts(context.Background(), cli, opts)
	}
	// Found from a subdirectory: update with a strict 7-day cooldown → b2.
	assert.NilError(t, run(pinOptions{}))
	got, _ := os.ReadFile(compose)
	assert.Assert(t, strings.Contains(string(got), f.b2.String()), string(got))
	// A flag wins over the file.
	assert.NilError(t, run(pinOptions{PinFlags: config.PinFlags{Cooldown: "0s"}}, "cooldown"))
	got, _ = os.ReadFile(compose)
	assert.Assert(t, strings.Contains(string(got), f.b4.String()), string(got))
	// --show-config says where each value came from.
	out.Reset()
	assert.NilError(t, run(pinOptions{PinFlags: config.PinFlags{ShowConfig: true, Cooldown: "1d"}}, "cooldown"))
	cfg := out.String()
	policyFile := filepath.Join(repo, ".cgpin.yaml")
	cfg = regexp.MustCompile(` +`).ReplaceAllString(cfg, " ")
	for _, want := range []string{"cooldown 1d --cooldown", "cooldown-strict true " + policyFile + ":4", "kinds compose, dockerfile " + policyFile + ":7", "stale-after", "default"} {
		assert.Assert(t, strings.Contains(cfg, want), "%q not in\n%s", want, cfg)
	}
	// Unknown keys and bad values name the file and line.
	write(filepath.Join(repo, ".cgpin.yaml"), "exclude: []\n")
	assert.ErrorContains(t, run(pinOptions{}), policyFile+":1: exclude: an empty list")
	write(filepath.Join(repo, ".cgpin.yaml"), "cooldown: soon\nfrobnicate: 1\nkinds: [helm, terragrunt]\nplatform: arm64\n")
	err := run(pinOptions{})
	for _, want := range []string{policyFile + ":1: cooldown: \"soon\"", policyFile + ":2: unknown key \"frobnicate\" (known: bump, certificate-identity,", policyFile + ":3: kinds: \"terragrunt\"", policyFile + ":4: platform"} {
		assert.ErrorContains(t, err, want)
	}
}

// TestPolicyFileKindGlobs: .cgpin.yaml's files: reads files of unusual
// names as the kinds it maps their globs to, with --kind; a kind that does
// not exist is an error naming the file and the entry's line.
func TestPolicyFileKindGlobs(t *testing.T) {
	f := newPolicyFixture(t)
	repo := t.TempDir()
	assert.NilError(t, os.Mkdir(filepath.Join(repo, ".git"), 0o755))
	write := func(p, s string) {
		assert.NilError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		assert.NilError(t, os.WriteFile(p, []byte(s), 0o644))
	}
	values := filepath.Join(repo, "deploy", "prod-values.yaml")
	ci := filepath.Join(repo, "ci", "pipeline.gitlab.yml")
	write(values, "image: "+f.ref+"\n")
	write(ci, "image: "+f.ref+"\n")
	policyFile := filepath.Join(repo, ".cgpin.yaml")
	write(policyFile, "files:\n  \"deploy/*-values.yaml\": helm\n")
	cli, _, _ := newTestCLI(t, `{}`)
	run := func(opts pinOptions) error {
		opts.paths, opts.now, opts.Jobs = []string{repo}, func() time.Time { return now }, 8
		opts.changed = func(string) bool { return false }
		return runPinOpts(context.Background(), cli, opts)
	}
	assert.NilError(t, run(pinOptions{PinFlags: config.PinFlags{Kinds: []string{"gitlab-ci=ci/*.yml"}}}))
	for _, p := range []string{values, ci} {
		got, _ := os.ReadFile(p)
		assert.Equal(t, string(got), "image: "+f.ref+"@"+f.b4.String()+"\n", p)
	}
	write(policyFile, "update: true\nfiles:\n  \"deploy/*-values.yaml\": helm\n  \"ci/*.yml\": gitlab\n")
	assert.ErrorContains(t, run(pinOptions{}), policyFile+`:4: files: "ci/*.yml": kind "gitlab": want one of dockerfile, compose`)
}
