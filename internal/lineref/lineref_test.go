package lineref

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/docker-cghistory/docker-cghistory/internal/ref/reftest"
)

var fixed, pinAll = reftest.Fixed, reftest.PinAll

func TestLineKinds(t *testing.T) {
	D := "@" + fixed.String()
	dir := t.TempDir()
	compose := "services:\n  web:\n    image: ${WEB_IMAGE}\n  api:\n    image: ${API_IMAGE:-app:1}\n  worker:\n    image: $WEB_IMAGE\n  db:\n    image: postgres:16\n  built:\n    build: .\n    image: ${BUILT}\n"
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(compose), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		finder ref.Finder
		path   string
		in     string
		pins   []string
		left   []string
	}{
		{"quadlet", Quadlet, "web.container",
			"[Unit]\r\nDescription=web\r\n\r\n[Container]\r\n# Image=old:1\r\nImage=cgr.dev/chainguard/nginx:latest\r\nImage = \"docker.io/library/redis:7\"\r\nPublishPort=8080:80\r\n",
			[]string{"cgr.dev/chainguard/nginx:latest", "docker.io/library/redis:7"}, nil},
		{"quadlet units and specifiers", Quadlet, "x.volume",
			"\xEF\xBB\xBF[Volume]\nDriver=image\nImage=app.image\nImage=quay.io/%i/app:1\nImage=\n",
			nil, []string{"app.image (names a Quadlet unit: pinned there)", "quay.io/%i/app:1 (contains unresolved variables or specifiers)", " (no value)"}},
		{"env beside compose", Env, filepath.Join(dir, ".env"),
			"# images\nWEB_IMAGE=cgr.dev/chainguard/nginx:latest # front\nexport API_IMAGE='cgr.dev/chainguard/go:latest'\nBUILT=acme/app:dev\nPOSTGRES=postgres:5432\nOTHER=\"a b\"\n",
			[]string{"cgr.dev/chainguard/nginx:latest", "cgr.dev/chainguard/go:latest"}, nil},
		{"annotated", Annotated, "Makefile",
			"BASE ?= cgr.dev/chainguard/go:latest # cgpin: image\nOTHER = nginx:1 # not marked\n# cgpin: image\nRUNTIME := \"cgr.dev/chainguard/static:latest\"\n\t// cgpin: image\n\tdocker run --rm alpine:3 sh # also a comment: http://x:1\n",
			[]string{"cgr.dev/chainguard/go:latest", "cgr.dev/chainguard/static:latest", "alpine:3"}, nil},
		{"annotated languages", Annotated, "images.go",
			"package x\r\n\r\nconst (\r\n\tbase = \"cgr.dev/chainguard/go:1.23\" // cgpin: image\r\n\t-- cgpin: image\r\n\tsql = 'postgres:16'\r\n)\r\n; cgpin: image\r\n",
			[]string{"cgr.dev/chainguard/go:1.23", "postgres:16"}, []string{"cgpin: image (marker on the last line: no reference after it)"}},
		{"annotated warnings", Annotated, "build.sh",
			"# cgpin: image\necho hello\nrun a:1 b:2 # cgpin: image\nimg=$REG/app:1 # cgpin: image\n",
			nil, []string{"echo hello (marked cgpin: image, but no image reference on the line)", "run a:1 b:2 (marked cgpin: image, but more than one reference on the line)", "$REG/app:1 (contains unresolved variables or specifiers)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, pins, left := pinAll(t, tc.finder, tc.path, []byte(tc.in))
			if strings.Join(pins, "|") != strings.Join(tc.pins, "|") {
				t.Errorf("found %q, want %q", pins, tc.pins)
			}
			if strings.Join(left, "|") != strings.Join(tc.left, "|") {
				t.Errorf("left %q, want %q", left, tc.left)
			}
			want := tc.in
			for _, p := range tc.pins {
				want = strings.Replace(want, p, p+"\x00", 1)
			}
			if want = strings.ReplaceAll(want, "\x00", D); out != want {
				t.Errorf("got\n%s\nwant\n%s", out, want)
			}
		})
	}
}

// The env finder names the services each line feeds, and refuses a
// Compose file over its bound, naming it.
func TestEnvServices(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte("services:\n  a: {image: $IMG}\n  b: {image: '${IMG}'}\n"), 0o644)
	found, _, err := Env.Find(context.Background(), filepath.Join(dir, ".env"), []byte("IMG=nginx:1\n"))
	if err != nil || len(found) != 1 || found[0].Kind != ".env (image of service a, b)" {
		t.Fatalf("found %+v, %v", found, err)
	}
	big := bytes.Repeat([]byte("#\n"), MaxComposeSize/2+1)
	os.WriteFile(filepath.Join(dir, "compose.yaml"), big, 0o644)
	if _, _, err := Env.Find(context.Background(), filepath.Join(dir, ".env"), []byte("IMG=nginx:1\n")); err == nil || !strings.Contains(err.Error(), "compose.yaml is over 4 MiB") {
		t.Errorf("big compose file: %v", err)
	}
	if _, _, err := Annotated.Find(context.Background(), "x", []byte("a\x00")); err == nil {
		t.Error("binary accepted")
	}
}

// FuzzLines: for any text, pinning what the line finders (.env, Quadlet,
// marked lines) find changes only those bytes, and a second run finds
// each reference pinned.
func FuzzLines(f *testing.F) {
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte("services:\n  a: {image: $A}\n  b: {image: '${B:-x:1}'}\n"), 0o644); err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"A=nginx:1\nexport B='alpine:3' # c\n",
		"[Container]\r\nImage=quay.io/a/b:1\r\n",
		"X := a/b:1 # cgpin: image\n// cgpin: image\nconst y = \"c:2\"\n",
		"\xEF\xBB\xBFA=\"x:1@sha256:" + strings.Repeat("0", 64) + "\"\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range []struct {
			f ref.Finder
			p string
		}{{Env, filepath.Join(dir, ".env")}, {Quadlet, "a.container"}, {Annotated, "Makefile"}} {
			if _, _, err := c.f.Find(context.Background(), c.p, []byte(s)); err != nil {
				continue
			}
			pinAll(t, c.f, c.p, []byte(s))
		}
	})
}
