package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Text a hostile registry or image carries: it retitles the terminal and
// clears the screen, writes the clipboard (OSC 52), overwrites the line,
// forges a row, reads backwards, and is HTML and a link in markdown.
const (
	evilTitle = "\x1b]0;PWNED\a\x1b[2J"
	evilClip  = "\x1b]52;c;cHduZWQ=\a"
	evilCR    = "\rFAKE"
	evilRow   = "\nsha256:forged | ➕ | forged |"
	evilBidi  = "\u202egnp.exe"
	evilMD    = "<img src=x onerror=alert(1)>[click](https://evil.example)|@admin"
)

// assertSafe fails on any character a terminal acts on, other than the
// newlines ending lines, and checks the number of lines.
func assertSafe(t *testing.T, what, out string, lines int) {
	t.Helper()
	for _, r := range out {
		if r != '\n' && !strconv.IsGraphic(r) {
			t.Errorf("%s prints %q raw:\n%s", what, r, out)
			break
		}
	}
	if n := strings.Count(out, "\n"); lines >= 0 && n != lines {
		t.Errorf("%s has %d lines, want %d:\n%s", what, n, lines, out)
	}
}

func TestHostileTagsThroughDocker(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	s.Push(t, "chainguard/nginx", "latest", t0, "linux/amd64")
	tags := []string{"latest", "latest" + evilTitle, "x" + evilClip, "ok" + evilCR, "row" + evilRow, "evil" + evilBidi}
	s.Override(`^/v2/chainguard/nginx/tags/list$`, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"name": "chainguard/nginx", "tags": tags})
	})
	d := newDockerEnv(t, "")
	ref := s.Ref("chainguard/nginx", "")

	table := d.docker("cghistory", "tags", ref).ok(t).stdout
	assertSafe(t, "tags table", table, 1+len(tags))
	for _, want := range []string{`latest\x1b]0;PWNED\a\x1b[2J`, `x\x1b]52;c;cHduZWQ=\a`, `ok\rFAKE`, `row\nsha256:forged`, `evil\u202egnp.exe`} {
		if !strings.Contains(table, want+"\n") && !strings.Contains(table, want+" ") {
			t.Errorf("tags table lacks %s:\n%s", want, table)
		}
	}
	// A user's template gets the same escaped fields.
	assertSafe(t, "tags template", d.docker("cghistory", "tags", "--format", "{{.Reference}}", ref).ok(t).stdout, len(tags))

	// JSON keeps every tag exactly.
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(d.docker("cghistory", "tags", "--format", "json", ref).ok(t).stdout), "\n") {
		var o map[string]string
		if err := json.Unmarshal([]byte(line), &o); err != nil {
			t.Fatalf("json line %q: %v", line, err)
		}
		got = append(got, o["Tag"])
	}
	want := []string{"evil" + evilBidi, "latest", "latest" + evilTitle, "ok" + evilCR, "row" + evilRow, "x" + evilClip}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("json tags = %q, want %q", got, want)
	}

	// Completion offers only the tag a shell can take.
	out := d.docker("__complete", "cghistory", ref+":").ok(t).stdout
	assertSafe(t, "completion", out, 2)
	if !strings.HasPrefix(out, ref+":latest\n:4\n") {
		t.Errorf("completion = %q, want only %s:latest", out, ref)
	}
}

func TestHostileRegistryErrorsThroughDocker(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	s.Push(t, "chainguard/nginx", "latest", t0, "linux/amd64")
	d := newDockerEnv(t, "")
	ref := s.Ref("chainguard/nginx", "latest")

	// The registry's own error message, through go-containerregistry.
	msg := "denied" + evilTitle + evilClip + evilCR + "\nforged: all good" + evilBidi
	s.Override(`/tags/list$`, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": "DENIED", "message": msg}}})
	})
	r := d.docker("cghistory", "tags", s.Ref("chainguard/nginx", ""))
	r.fails(t, `denied\x1b]0;PWNED\a\x1b[2J\x1b]52;c;cHduZWQ=\a\rFAKE\nforged: all good\u202egnp.exe`)
	assertSafe(t, "registry error", r.stderr, 1)

	// A history record that is not a digest: the error quotes it (as
	// before: history's own message uses %q).
	s.OverrideHistory(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"history": []map[string]string{
			{"digest": "sha256:" + evilTitle + "\nforged", "updateTimestamp": t0.Format(time.RFC3339)}}})
	})
	r = d.docker("cghistory", ref).fails(t, `PWNED`)
	assertSafe(t, "history error", r.stderr, 1)
	if r.stdout != "" {
		t.Errorf("stdout on error: %q", r.stdout)
	}

	// cgdiff's errors (a cli.StatusError, exit 2) too.
	zero := "sha256:" + strings.Repeat("0", 64)
	s.Override(`/manifests/`+zero+`$`, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": "MANIFEST_UNKNOWN", "message": msg}}})
	})
	r = d.docker("cgdiff", "--vulns", "none", ref, s.Ref("chainguard/nginx", "@"+zero))
	if r.code != 2 {
		t.Errorf("cgdiff exit %d, want 2: %s", r.code, r.stderr)
	}
	r.fails(t, `\x1b]0;PWNED\a\x1b[2J\x1b]52;c;cHduZWQ=\a\rFAKE\nforged: all good\u202egnp.exe`)
	assertSafe(t, "cgdiff error", r.stderr, 1)
}

func TestHostilePlatformThroughDocker(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	evil := "linux/arm64" + evilTitle
	s.Push(t, "chainguard/go", "latest", t0, "linux/amd64", evil)
	d := newDockerEnv(t, "")
	ref := s.Ref("chainguard/go", "latest")
	out := d.docker("cghistory", "--platforms", ref).ok(t).stdout
	assertSafe(t, "--platforms table", out, 2)
	if !strings.Contains(out, `linux/arm64\x1b]0;PWNED\a\x1b[2J: sha256:`) {
		t.Errorf("--platforms table lacks the escaped platform:\n%s", out)
	}
	var o struct{ Platforms []struct{ Platform string } }
	if err := json.Unmarshal([]byte(d.docker("cghistory", "--platforms", "--format", "json", ref).ok(t).stdout), &o); err != nil {
		t.Fatal(err)
	}
	if len(o.Platforms) != 2 || o.Platforms[1].Platform != evil {
		t.Errorf("json platforms = %q, want the raw %q", o.Platforms, evil)
	}
	comp := d.docker("__complete", "cghistory", ref, "--platform", "").ok(t).stdout
	assertSafe(t, "--platform completion", comp, 2)
	if !strings.HasPrefix(comp, "linux/amd64\n") {
		t.Errorf("--platform completion = %q", comp)
	}
}

// pushHostile pushes an apk image whose packages ("name\tversion"), labels
// and env carry hostile text, as anyone can build one.
func pushHostile(t *testing.T, s *registrytest.Server, tag string, at time.Time, pkgs []string, labels map[string]string, env []string) v1.Hash {
	t.Helper()
	var db strings.Builder
	for _, p := range pkgs {
		f := strings.SplitN(p, "\t", 2)
		fmt.Fprintf(&db, "P:%s\nV:%s\nA:x86_64\no:%s\n\n", f[0], f[1], f[0])
	}
	layer, err := crane.Layer(map[string][]byte{"etc/os-release": []byte("ID=wolfi\n"), "lib/apk/db/installed": []byte(db.String())})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", "amd64", v1.Time{Time: at}
	cf.Config.Labels, cf.Config.Env = labels, env
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(s.Ref("chainguard/evil", tag))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithTransport(s.Transport()),
		remote.WithAuth(&authn.Basic{Username: registrytest.AdminUser, Password: registrytest.AdminPassword})); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// markdownCells splits a table row as GitHub does: a backslash and an
// ASCII punctuation character are one unit, only a bare pipe ends a cell.
func markdownCells(line string) int {
	n := 0
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && strings.ContainsRune("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", rune(line[i+1])):
			i++
		case line[i] == '|':
			n++
		}
	}
	return n - 1
}

func TestHostileImageThroughDocker(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	b1 := pushHostile(t, s, "latest", t0, []string{"libssl3\t3.4.0-r0", "gone" + evilClip + "\t1" + evilTitle},
		map[string]string{"org.opencontainers.image.title": "app"}, []string{"PATH=/usr/bin"})
	pushHostile(t, s, "latest", t0.Add(time.Hour), []string{"libssl3\t3.4.0-r1" + evilBidi, "new" + evilMD + "\t2" + evilCR},
		map[string]string{"org.opencontainers.image.title": "app" + evilRow, "evil" + evilTitle: evilMD}, []string{"PATH=/usr/bin" + evilClip})
	// A security database whose advisory IDs are hostile too (on loopback:
	// --changes and --explain read one).
	sec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"packages": []any{map[string]any{"pkg": map[string]any{
			"name": "libssl3", "secfixes": map[string][]string{"3.4.0-r1": {"CVE-2024-0001" + evilClip + evilRow}}}}}})
	}))
	defer sec.Close()
	d := newDockerEnv(t, "")
	d.env = append(d.env, "CGHISTORY_SECDB="+sec.URL)
	ref := s.Ref("chainguard/evil", "latest")

	// cghistory --changes: the summary of each build, in the table.
	changes := d.docker("cghistory", "--changes", "--platform", "linux/amd64", ref).ok(t).stdout
	assertSafe(t, "cghistory --changes", changes, 3)
	if !strings.Contains(changes, `+new<img src=x onerror=alert(1)>[click](https://evil.example)|@admin, -gone\x1b]52;c;cHduZWQ=\a`) {
		t.Errorf("--changes table lacks the escaped summary:\n%s", changes)
	}

	// The table: 3 lines of images, 2+3 of packages, 2+3 of config.
	table := d.docker("cgdiff", "--vulns", "none", "--platform", "linux/amd64", ref+"~1", ref).ok(t).stdout
	assertSafe(t, "cgdiff table", table, 3+2+3+2+3)
	for _, want := range []string{`gone\x1b]52;c;cHduZWQ=\a`, `3.4.0-r1\u202egnp.exe`, `app\nsha256:forged`, `Label evil\x1b]0;PWNED\a\x1b[2J`} {
		if !strings.Contains(table, want) {
			t.Errorf("cgdiff table lacks %s:\n%s", want, table)
		}
	}

	// Markdown: every row keeps its four cells, and hostile text is code.
	md := d.docker("cgdiff", "--vulns", "none", "--platform", "linux/amd64", "--format", "markdown", ref+"~1", ref).ok(t).stdout
	assertSafe(t, "cgdiff markdown", md, -1)
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, "| field") && !strings.HasPrefix(line, "| from") && !strings.HasPrefix(line, "| to") && markdownCells(line) != 4 && markdownCells(line) != 3 {
			t.Errorf("markdown row %q has %d cells", line, markdownCells(line))
		}
		if strings.Contains(line, "<img") && !strings.Contains(line, "`new<img src=x onerror=alert(1)>[click](https://evil.example)\\|@admin`") &&
			!strings.Contains(line, "`<img src=x onerror=alert(1)>[click](https://evil.example)\\|@admin`") {
			t.Errorf("markdown line %q shows HTML outside a code span", line)
		}
	}

	// JSON is exact.
	var doc struct {
		Packages struct {
			Added, Removed []struct{ Name, Version string }
		}
		Config map[string]struct{ Previous, Current string }
	}
	if err := json.Unmarshal([]byte(d.docker("cgdiff", "--vulns", "none", "--platform", "linux/amd64", "--format", "json", ref+"~1", ref).ok(t).stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Packages.Added) != 1 || doc.Packages.Added[0].Name != "new"+evilMD || doc.Packages.Added[0].Version != "2"+evilCR ||
		doc.Config["Label evil"+evilTitle].Current != evilMD || doc.Config["Env PATH"].Current != "/usr/bin"+evilClip {
		t.Errorf("json not exact: %+v", doc)
	}

	// cgpin's pull-request body (--explain --format markdown) and its list.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+ref+"@"+b1.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	body := d.docker("cgpin", "--update", "--explain", "--dry-run", "--format", "markdown", "--platform", "linux/amd64", dir).ok(t).stdout
	assertSafe(t, "cgpin markdown", body, 5)
	if row := strings.Split(body, "\n")[4]; markdownCells(row) != 4 || !strings.Contains(row, "| `libssl3 3.4.0-r0→3.4.0-r1\\u202egnp.exe (fixes CVE-2024-0001\\x1b]52;c;cHduZWQ=\\a") {
		t.Errorf("cgpin markdown row %q", row)
	}
	list := d.docker("cgpin", "--update", "--explain", "--platform", "linux/amd64", "--check", dir)
	assertSafe(t, "cgpin --check", list.stdout+list.stderr, -1)
}
