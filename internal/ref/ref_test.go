package ref

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestExpandAndParse(t *testing.T) {
	cases := []struct{ in, ns, want string }{
		{"python", "", "cgr.dev/chainguard/python"},
		{"python:3.12", "", "cgr.dev/chainguard/python:3.12"},
		{"python@sha256:abc", "", "cgr.dev/chainguard/python@sha256:abc"},
		{"nginx", "registry.example.com/mirror/", "registry.example.com/mirror/nginx"},
		{"library/nginx", "", "library/nginx"},
		{"cgr.dev/chainguard/go:latest-dev", "", "cgr.dev/chainguard/go:latest-dev"},
		{"127.0.0.1:5000/a/b:c", "", "127.0.0.1:5000/a/b:c"},
	}
	for _, tc := range cases {
		if got := Expand(tc.in, tc.ns); got != tc.want {
			t.Errorf("Expand(%q, %q) = %q, want %q", tc.in, tc.ns, got, tc.want)
		}
	}
	r, err := Options{}.Parse("nginx")
	if err != nil || r.Name() != "cgr.dev/chainguard/nginx:latest" {
		t.Errorf("Parse(nginx) = %v, %v", r, err)
	}
	if _, err := (Options{}).Parse("UPPER"); err == nil {
		t.Error("uppercase repository accepted")
	}
	if r, _ := (Options{Insecure: true}).Parse("10.0.0.5:5000/x/y"); r.Context().Scheme() != "http" {
		t.Error("--insecure did not allow http")
	}
	for in, want := range map[string]string{
		"nginx:1.27": "cgr.dev/chainguard/nginx", "nginx@sha256:" + strings.Repeat("a", 64): "cgr.dev/chainguard/nginx",
		"127.0.0.1:5000/a/b:c": "127.0.0.1:5000/a/b", "127.0.0.1:5000/a/b": "127.0.0.1:5000/a/b",
	} {
		repo, err := Options{}.Repository(in)
		if err != nil || repo.String() != want {
			t.Errorf("Repository(%q) = %v, %v; want %s", in, repo, err, want)
		}
	}
}

func TestHostnameAndAliases(t *testing.T) {
	for in, want := range map[string]string{
		"https://index.docker.io/v1/": "index.docker.io", "docker.io": "index.docker.io", "registry-1.docker.io": "index.docker.io",
		"HTTPS://CGR.DEV/v2/": "cgr.dev", " 127.0.0.1:5000 ": "127.0.0.1:5000", "http://localhost:5000/": "localhost:5000",
	} {
		if got := Hostname(in); got != want {
			t.Errorf("Hostname(%q) = %q, want %q", in, got, want)
		}
	}
	if AuthKey("docker.io") != DockerHubAuthKey || AuthKey("cgr.dev") != "cgr.dev" {
		t.Error("AuthKey")
	}
	for in, want := range map[string]bool{"cgr.dev": true, "127.0.0.1:5000": true, "localhost": true, "https://cgr.dev/": true,
		"python": false, "python:3.12": false, "cgr.dev/chainguard/python": false} {
		if IsRegistry(in) != want {
			t.Errorf("IsRegistry(%q) = %v", in, !want)
		}
	}
}

func TestRelative(t *testing.T) {
	for in, want := range map[string]struct {
		base string
		n    int
		err  bool
	}{"nginx": {"nginx", 0, false}, "nginx~3": {"nginx", 3, false}, "x~y": {"", 0, true}, "a:b~-1": {"", 0, true}} {
		base, n, err := Relative(in)
		if base != want.base || n != want.n || (err != nil) != want.err {
			t.Errorf("Relative(%q) = %q %d %v", in, base, n, err)
		}
	}
}

func TestParseImage(t *testing.T) {
	d := "sha256:" + strings.Repeat("b", 64)
	cases := []struct {
		text, repo, tag string
		pinned          bool
		follow          string
	}{
		{"python", "index.docker.io/library/python", "", false, "index.docker.io/library/python:latest"},
		{"python:3.12", "index.docker.io/library/python", "3.12", false, "index.docker.io/library/python:3.12"},
		{"cgr.dev/chainguard/go:latest@" + d, "cgr.dev/chainguard/go", "latest", true, "cgr.dev/chainguard/go:latest"},
		{"localhost:5000/a@" + d, "localhost:5000/a", "", true, "localhost:5000/a:latest"},
	}
	for _, tc := range cases {
		img, err := ParseImage(tc.text)
		if err != nil {
			t.Fatalf("%s: %v", tc.text, err)
		}
		if img.Repo.Name() != tc.repo || img.Tag != tc.tag || img.Pinned() != tc.pinned || img.Tagged().Name() != tc.follow {
			t.Errorf("%s: %+v (follow %s)", tc.text, img, img.Tagged())
		}
		if tc.pinned && img.At(img.Digest).DigestStr() != d {
			t.Errorf("%s: At = %s", tc.text, img.At(img.Digest))
		}
	}
	for _, bad := range []string{"python@sha256:zz", "UPPER:1", "a@b"} {
		if _, err := ParseImage(bad); err == nil {
			t.Errorf("ParseImage(%q) accepted", bad)
		}
	}
	img, _ := ParseImage("python:3.12@sha256:" + strings.Repeat("0", 64))
	if got := img.Pin(mustHash(d)); got != "python:3.12@"+d || img.Name != "python:3.12" {
		t.Errorf("Pin = %s, Name = %s", got, img.Name)
	}
}

func mustHash(s string) v1.Hash {
	h, err := v1.NewHash(s)
	if err != nil {
		panic(err)
	}
	return h
}

func TestApplyRejectsOverlaps(t *testing.T) {
	if _, err := Apply([]byte("abcdef"), []Edit{{Start: 1, End: 3, Text: "x"}, {Start: 2, End: 4, Text: "y"}}); err == nil {
		t.Error("overlap accepted")
	}
	out, err := Apply([]byte("abcdef"), []Edit{{Start: 4, End: 6, Text: "Z"}, {Start: 0, End: 0, Text: ">"}})
	if err != nil || string(out) != ">abcdZ" {
		t.Errorf("Apply = %q, %v", out, err)
	}
}

func TestMirrorMap(t *testing.T) {
	m, err := ParseMirrorMap("config.json", []string{"mirror.example.com/cgr=cgr.dev/chainguard", "mirror.example.com/cgr/special=cgr.dev/acme.com"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add("--registry-map", []string{"ecr.example.com/cgr=cgr.dev/chainguard", "mirror.example.com/cgr=cgr.dev/other"}); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"mirror.example.com/cgr/nginx":     "cgr.dev/other/nginx", // the later source wins
		"mirror.example.com/cgr/special/x": "cgr.dev/acme.com/x",  // the longest prefix wins
		"ecr.example.com/cgr/go":           "cgr.dev/chainguard/go",
		"mirror.example.com/cgrx/nginx":    "", // a prefix of path segments only
		"index.docker.io/library/nginx":    "",
	} {
		repo, _ := name.NewRepository(in)
		up, ok := m.Upstream(repo)
		if got := up.String(); (ok && got != want) || (!ok && want != "") {
			t.Errorf("Upstream(%s) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"nope", "=cgr.dev", "a.example.com/x="} {
		if _, err := ParseMirrorMap("--registry-map", []string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestDockerScheme(t *testing.T) {
	if _, err := ParseImage("docker://node:24"); err == nil || !strings.Contains(err.Error(), "URL scheme") {
		t.Errorf("docker://node:24 parsed as a reference (a registry named docker:): %v", err)
	}
	rest, ok := CutDockerScheme("docker://node:24")
	if img, err := ParseImage(rest); !ok || err != nil || img.Repo.String() != "index.docker.io/library/node" || img.Tag != "24" {
		t.Errorf("after the scheme: %v %v %v", img, ok, err)
	}
	if _, ok := CutDockerScheme("node:24"); ok {
		t.Error("no scheme cut")
	}
}
