package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/config"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	dockercli "github.com/docker/cli/cli"
	"gotest.tools/v3/assert"
	"gotest.tools/v3/golden"
)

type diffFixture struct {
	s      *registrytest.Server
	secdb  string
	b1, b2 string
}

func newDiffFixture(t *testing.T) diffFixture {
	s := registrytest.New(t)
	db := func(pkgs ...string) string {
		var b strings.Builder
		for _, p := range pkgs {
			f := strings.Fields(p)
			fmt.Fprintf(&b, "P:%s\nV:%s\nA:x86_64\no:%s\n\n", f[0], f[1], f[2])
		}
		return b.String()
	}
	b1 := s.PushLayers(t, "chainguard/app", "latest", now.Add(-48*3600e9), "linux/amd64",
		registrytest.Layer{"etc/os-release": "ID=wolfi\n", "lib/apk/db/installed": db("glibc 2.40-r3 glibc", "libssl3 3.4.0-r0 openssl", "busybox 1.36.1-r1 busybox")})
	b2 := s.PushLayers(t, "chainguard/app", "latest", now.Add(-24*3600e9), "linux/amd64",
		registrytest.Layer{"etc/os-release": "ID=wolfi\n", "lib/apk/db/installed": db("glibc 2.40-r3 glibc", "libssl3 3.4.0-r1 openssl", "libxml2 2.13.4-r0 libxml2")})
	sec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"packages":[{"pkg":{"name":"openssl","secfixes":{"3.4.0-r1":["CVE-2024-0001"]}}},{"pkg":{"name":"libxml2","secfixes":{"2.13.5-r0":["CVE-2024-0002"]}}}]}`))
	}))
	t.Cleanup(sec.Close)
	return diffFixture{s: s, secdb: sec.URL, b1: b1.String(), b2: b2.String()}
}

func TestDiffFormats(t *testing.T) {
	f := newDiffFixture(t)
	for _, format := range []string{"table", "json", "markdown", "{{len .Packages.Added}} added, {{range .Vulnerabilities.Removed}}{{.ID}} fixed{{end}}"} {
		t.Run(strings.Fields(format)[0], func(t *testing.T) {
			cli, out, _ := newTestCLI(t, `{}`)
			err := runDiffOpts(context.Background(), cli, diffOptions{from: f.s.Ref("chainguard/app", "latest"), DiffFlags: config.DiffFlags{Format: format, Source: "auto", Vulns: "secdb", SecDB: f.secdb, Platform: "linux/amd64"}})
			assert.NilError(t, err)
			got := strings.NewReplacer(f.s.Host, "REGISTRY", f.b1, "BUILD1", f.b2, "BUILD2").Replace(out.String())
			name := map[string]string{"table": "diff-table", "json": "diff-json", "markdown": "diff-markdown"}[format]
			if name == "" {
				assert.Equal(t, got, "1 added, CVE-2024-0001 fixed\n")
				return
			}
			golden.Assert(t, got, name+".golden")
			if format == "json" {
				var doc map[string]any
				assert.NilError(t, json.Unmarshal(out.Bytes(), &doc))
				for _, k := range []string{"packages", "vulnerabilities", "config", "warnings"} {
					_, ok := doc[k]
					assert.Assert(t, ok, "json lacks %q", k)
				}
			}
		})
	}
}

func TestDiffExitCodes(t *testing.T) {
	f := newDiffFixture(t)
	ref := f.s.Ref("chainguard/app", "latest")
	cases := []struct {
		opts diffOptions
		code int
		msg  string
	}{
		{diffOptions{from: ref}, 0, ""},
		{diffOptions{from: ref, DiffFlags: config.DiffFlags{ExitCode: true}}, 1, "the images differ"},
		{diffOptions{from: ref, to: ref, DiffFlags: config.DiffFlags{ExitCode: true}}, 0, ""},
		{diffOptions{from: ref, DiffFlags: config.DiffFlags{ExitOn: []string{"vulnerability"}}}, 1, "1 vulnerabilities introduced"},
		{diffOptions{from: ref, DiffFlags: config.DiffFlags{ExitOn: []string{"config"}}}, 0, ""},
		{diffOptions{from: ref, DiffFlags: config.DiffFlags{ExitOn: []string{"bogus"}}}, 125, "--exit-on"},
		{diffOptions{from: ref, DiffFlags: config.DiffFlags{Platform: "amd64"}}, 125, "want os/arch"},
		{diffOptions{from: ref + "~9"}, 2, "has only 2 builds"},
		{diffOptions{from: ref, DiffFlags: config.DiffFlags{Platform: "linux/s390x"}}, 2, "has no linux/s390x image"},
		{diffOptions{from: ref, DiffFlags: config.DiffFlags{Vulns: "grype"}}, 2, "grype"},
	}
	for _, tc := range cases {
		cli, _, _ := newTestCLI(t, `{}`)
		o := tc.opts
		if o.Source == "" {
			o.Source = "auto"
		}
		if o.Vulns == "" {
			o.Vulns = "secdb"
		}
		o.SecDB = f.secdb
		t.Setenv("PATH", t.TempDir()) // no grype
		err := runDiffOpts(context.Background(), cli, o)
		if tc.code == 0 {
			assert.NilError(t, err)
			continue
		}
		var se dockercli.StatusError
		assert.Assert(t, errors.As(err, &se), "err = %v", err)
		assert.Equal(t, se.StatusCode, tc.code, se.Status)
		assert.ErrorContains(t, err, tc.msg)
	}
}

func TestHistoryChanges(t *testing.T) {
	f := newDiffFixture(t)
	t.Setenv("CGHISTORY_SECDB", f.secdb)
	cli, out, _ := newTestCLI(t, `{}`)
	err := runHistoryOpts(context.Background(), cli, historyOptions{image: f.s.Ref("chainguard/app", "latest"), now: func() time.Time { return now }, HistoryFlags: config.HistoryFlags{Changes: true, Platform: "linux/amd64", Format: "{{.Digest}} {{.Changes}}", NoTrunc: true}})
	assert.NilError(t, err)
	assert.Equal(t, out.String(), f.b2+" libssl3 3.4.0-r0→3.4.0-r1 (fixes CVE-2024-0001), +libxml2, -busybox, introduces CVE-2024-0002\n"+
		f.b1+" first build in the history\n")
	// --last 1 still summarises against the build before.
	out.Reset()
	assert.NilError(t, runHistoryOpts(context.Background(), cli, historyOptions{image: f.s.Ref("chainguard/app", "latest"), HistoryFlags: config.HistoryFlags{Changes: true, Platform: "linux/amd64", Last: 1, Format: "json"}}))
	var row map[string]any
	assert.NilError(t, json.Unmarshal(out.Bytes(), &row))
	assert.Assert(t, strings.HasPrefix(row["Changes"].(string), "libssl3 3.4.0-r0→3.4.0-r1"), row["Changes"])
}

func TestPinExplain(t *testing.T) {
	f := newDiffFixture(t)
	t.Setenv("CGHISTORY_SECDB", f.secdb)
	dir := t.TempDir()
	ref := f.s.Ref("chainguard/app", "latest")
	df := dir + "/Dockerfile"
	assert.NilError(t, os.WriteFile(df, []byte("FROM "+ref+"@"+f.b1+"\nFROM "+ref+" AS other\n"), 0o644))
	cli, out, _ := newTestCLI(t, `{}`)
	assert.NilError(t, runPinOpts(context.Background(), cli, pinOptions{paths: []string{dir}, PinFlags: config.PinFlags{Update: true, Explain: true, DryRun: false, Jobs: 8, Platform: ""}}))
	want := df + ":1  " + ref + "@" + f.b1 + " → " + ref + "@" + f.b2 + "\n" +
		"    libssl3 3.4.0-r0→3.4.0-r1 (fixes CVE-2024-0001), +libxml2, -busybox, introduces CVE-2024-0002\n" +
		df + ":2  " + ref + " → " + ref + "@" + f.b2 + "\n    newly pinned\n"
	assert.Equal(t, out.String(), want)

	// Markdown for a pull request (roll back first so there is a move).
	assert.NilError(t, os.WriteFile(df, []byte("FROM "+ref+"@"+f.b1+"\n"), 0o644))
	out.Reset()
	assert.NilError(t, runPinOpts(context.Background(), cli, pinOptions{paths: []string{df}, PinFlags: config.PinFlags{Update: true, Explain: true, Format: "markdown", DryRun: true, Jobs: 8}}))
	assert.Assert(t, strings.Contains(out.String(), "| `libssl3 3.4.0-r0→3.4.0-r1 (fixes CVE-2024-0001), +libxml2"), out.String())
}

// --explain works for every kind: a Kustomize pin and a Helm split spec
// move, and both are explained, in a pull-request body.
func TestPinExplainYAMLKinds(t *testing.T) {
	f := newDiffFixture(t)
	t.Setenv("CGHISTORY_SECDB", f.secdb)
	dir := t.TempDir()
	repo := f.s.Ref("chainguard/app", "")
	assert.NilError(t, os.WriteFile(dir+"/kustomization.yaml", []byte("images:\n- name: app\n  newName: "+repo+"\n  newTag: latest\n  digest: "+f.b1+"\n"), 0o644))
	assert.NilError(t, os.WriteFile(dir+"/Chart.yaml", []byte("name: x\n"), 0o644))
	assert.NilError(t, os.WriteFile(dir+"/values.yaml", []byte("image:\n  repository: "+repo+"\n  tag: \"latest@"+f.b1+"\"\n"), 0o644))
	cli, out, _ := newTestCLI(t, `{}`)
	assert.NilError(t, runPinOpts(context.Background(), cli, pinOptions{paths: []string{dir}, PinFlags: config.PinFlags{Update: true, Explain: true, Format: "markdown", Jobs: 8}}))
	body := out.String()
	assert.Equal(t, strings.Count(body, "| `libssl3 3.4.0-r0→3.4.0-r1 (fixes CVE-2024-0001), +libxml2"), 2, body)
	assert.Assert(t, strings.Contains(body, "`"+dir+"/kustomization.yaml:2` | `"+repo+":latest`"), body)
	values, _ := os.ReadFile(dir + "/values.yaml")
	assert.Equal(t, string(values), "image:\n  repository: "+repo+"\n  tag: \"latest@"+f.b2+"\"\n")
}

func TestHistoryChangesSurviveABuildWithoutPackages(t *testing.T) {
	f := newDiffFixture(t)
	t.Setenv("CGHISTORY_SECDB", f.secdb)
	b3 := f.s.PushLayers(t, "chainguard/app", "latest", now.Add(-3600e9), "linux/amd64", registrytest.Layer{"app": "static binary"})
	cli, out, _ := newTestCLI(t, `{}`)
	assert.NilError(t, runHistoryOpts(context.Background(), cli, historyOptions{image: f.s.Ref("chainguard/app", "latest"), HistoryFlags: config.HistoryFlags{Changes: true, Platform: "linux/amd64", Format: "{{.Digest}} {{.Changes}}", NoTrunc: true}}))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	assert.Equal(t, len(lines), 3)
	assert.Assert(t, strings.HasPrefix(lines[0], b3.String()+" cannot summarise: ") && strings.Contains(lines[0], "no package inventory found"), lines[0])
	assert.Assert(t, strings.HasPrefix(lines[1], f.b2+" libssl3 3.4.0-r0→3.4.0-r1"), lines[1])
}

// grype cannot run here (it needs its vulnerability database from the
// internet): a stand-in on PATH answers in grype's JSON format, to test that
// cgdiff runs it on both images and reads its matches.
func TestDiffWithGrype(t *testing.T) {
	f := newDiffFixture(t)
	bin := t.TempDir()
	script := `#!/bin/sh
case "$1" in
*` + f.b1 + `) echo '{"matches":[{"vulnerability":{"id":"CVE-2024-1111","severity":"High","fix":{"versions":["3.4.0-r1"]}},"artifact":{"name":"libssl3","version":"3.4.0-r0","purl":"pkg:apk/wolfi/libssl3@3.4.0-r0"}}]}' ;;
*) echo '{"matches":[{"vulnerability":{"id":"CVE-2024-2222","severity":"Low","fix":{"versions":[]}},"artifact":{"name":"libxml2","version":"2.13.4-r0","purl":"pkg:apk/wolfi/libxml2@2.13.4-r0"}}]}' ;;
esac
`
	assert.NilError(t, os.WriteFile(bin+"/grype", []byte(script), 0o755))
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	cli, out, _ := newTestCLI(t, `{}`)
	assert.NilError(t, runDiffOpts(context.Background(), cli, diffOptions{from: f.s.Ref("chainguard/app", "latest"), DiffFlags: config.DiffFlags{Source: "auto", Vulns: "grype", Format: "json", Platform: "linux/amd64"}}))
	var doc struct {
		Vulnerabilities struct{ Added, Removed []map[string]string }
	}
	assert.NilError(t, json.Unmarshal(out.Bytes(), &doc))
	assert.Equal(t, len(doc.Vulnerabilities.Removed), 1)
	assert.Equal(t, doc.Vulnerabilities.Removed[0]["id"], "CVE-2024-1111")
	assert.Equal(t, doc.Vulnerabilities.Removed[0]["severity"], "High")
	assert.Equal(t, doc.Vulnerabilities.Added[0]["id"], "CVE-2024-2222")
}
