package pin

import (
	"context"
	"errors"
	"fmt"
	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func resolver(t testing.TB) *RegistryResolver {
	c := registry.New(registry.Options{Cache: cache.New(t.TempDir(), 0), RetryBase: time.Millisecond, Attempts: 2,
		Transport: registrytest.LoopbackTransport()})
	return &RegistryResolver{Registry: c, History: &history.Client{Registry: c}}
}

func write(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func read(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func run(t testing.TB, r Resolver, opts Options, paths ...string) (*Plan, error) {
	t.Helper()
	files, err := Collect(paths, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(context.Background(), files, r, opts)
	if err != nil {
		return nil, err
	}
	return p, p.Write()
}

func TestPinAgainstRegistry(t *testing.T) {
	s := registrytest.New(t)
	nginx := s.Push(t, "chainguard/nginx", "latest", t0)
	goImg := s.Push(t, "chainguard/go", "latest-dev", t0, "linux/amd64")
	dir := t.TempDir()
	src := fmt.Sprintf("FROM %s AS build\r\nRUN echo hi\r\nFROM %s\r\nCOPY --from=build /a /b\r\n", s.Ref("chainguard/go", "latest-dev"), s.Ref("chainguard/nginx", ""))
	df := write(t, dir, "Dockerfile", src)
	if err := os.Chmod(df, 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.Dockerfile")
	if err := os.Symlink("Dockerfile", link); err != nil {
		t.Fatal(err)
	}
	p, err := run(t, resolver(t), Options{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("FROM %s@%s AS build\r\nRUN echo hi\r\nFROM %s@%s\r\nCOPY --from=build /a /b\r\n",
		s.Ref("chainguard/go", "latest-dev"), goImg.Digest, s.Ref("chainguard/nginx", ""), nginx.Digest)
	if got := read(t, df); got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	if len(p.Changes()) != 2 || p.Changes()[0].Line != 1 || p.Changes()[1].Line != 3 {
		t.Errorf("changes = %+v", p.Changes())
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Error("symlink replaced by a file")
	}
	if fi, _ := os.Stat(df); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode = %o", fi.Mode().Perm())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*cgpin*")); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}
	// Idempotent.
	p, err = run(t, resolver(t), Options{}, dir)
	if err != nil || len(p.Changes()) != 0 || read(t, df) != want {
		t.Fatalf("second run: %v %+v", err, p)
	}
}

func TestUpdateAtAndCooldown(t *testing.T) {
	s := registrytest.New(t)
	now := time.Now().UTC().Truncate(time.Second)
	old := s.Push(t, "chainguard/python", "latest", now.Add(-10*24*time.Hour), "linux/amd64")
	mid := s.Push(t, "chainguard/python", "latest", now.Add(-5*24*time.Hour), "linux/amd64")
	cur := s.Push(t, "chainguard/python", "latest", now.Add(-24*time.Hour), "linux/amd64")
	ref := s.Ref("chainguard/python", "latest")
	bare := s.Ref("chainguard/python", "") + "@" + old.Digest.String()
	dir := t.TempDir()
	df := write(t, dir, "Dockerfile", "FROM "+ref+"@"+old.Digest.String()+"\nFROM "+bare+"\n")

	// Default mode leaves existing pins alone.
	if p, err := run(t, resolver(t), Options{}, df); err != nil || len(p.Changes()) != 0 {
		t.Fatalf("default: %v %+v", err, p)
	}
	// --update follows the tag; the bare digest has nothing to follow.
	p, err := run(t, resolver(t), Options{Update: true}, df)
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, df); got != "FROM "+ref+"@"+cur.Digest.String()+"\nFROM "+bare+"\n" {
		t.Fatalf("update: %q", got)
	}
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0].Reason, "nothing to follow") {
		t.Errorf("notes = %+v", p.Notes)
	}
	// --at rolls back to the build of that time.
	r := resolver(t)
	r.At = now.Add(-7 * 24 * time.Hour)
	if _, err := run(t, r, Options{Update: true}, df); err != nil {
		t.Fatal(err)
	}
	if got := read(t, df); !strings.Contains(got, ref+"@"+old.Digest.String()) {
		t.Fatalf("--at: %q", got)
	}
	// --cooldown 3d skips the build that is only a day old.
	r = resolver(t)
	r.Cooldown = 3 * 24 * time.Hour
	if _, err := run(t, r, Options{Update: true}, df); err != nil {
		t.Fatal(err)
	}
	if got := read(t, df); !strings.Contains(got, ref+"@"+mid.Digest.String()) {
		t.Fatalf("--cooldown: %q", got)
	}
	// --update --cooldown never moves a pin back: pinned to the newest
	// build, a 3-day cooldown leaves it alone.
	if _, err := run(t, resolver(t), Options{Update: true}, df); err != nil {
		t.Fatal(err)
	}
	r = resolver(t)
	r.Cooldown = 3 * 24 * time.Hour
	p, err = run(t, r, Options{Update: true}, df)
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, df); !strings.Contains(got, ref+"@"+cur.Digest.String()) || len(p.Changes()) != 0 {
		t.Fatalf("--cooldown moved a newer pin back: %q", got)
	}
	if !strings.Contains(fmt.Sprint(p.Notes), "not moved back") {
		t.Errorf("notes = %+v", p.Notes)
	}
	// Before the first build there is nothing to pin to.
	r = resolver(t)
	r.At = now.Add(-30 * 24 * time.Hour)
	if _, err := run(t, r, Options{Update: true}, df); err == nil || !strings.Contains(err.Error(), "had no build at or before") {
		t.Fatalf("--at before history: %v", err)
	}
}

func TestAtWithoutHistoryAPI(t *testing.T) {
	s := registrytest.New(t, registrytest.WithoutHistory())
	s.Push(t, "library/alpine", "3", t0, "linux/amd64")
	df := write(t, t.TempDir(), "Dockerfile", "FROM "+s.Ref("library/alpine", "3")+"\n")
	r := resolver(t)
	r.At = t0.Add(time.Hour)
	_, err := run(t, r, Options{}, df)
	if !errors.Is(err, ErrNoHistory) || !strings.Contains(err.Error(), "Dockerfile:1") {
		t.Fatalf("err = %v", err)
	}
	// --cooldown alone ages the current build by its config's "created".
	r.At, r.Cooldown = time.Time{}, time.Hour
	r.Now = func() time.Time { return t0.Add(30 * time.Minute) }
	if _, err := run(t, r, Options{}, df); !errors.Is(err, ErrTooNew) || !strings.Contains(err.Error(), "created 2026-11-01T12:00:00Z") {
		t.Fatalf("cooldown, build too new: err = %v", err)
	}
	r.Now = func() time.Time { return t0.Add(2 * time.Hour) }
	if _, err := run(t, r, Options{}, df); err != nil || !strings.Contains(read(t, df), "@sha256:") {
		t.Fatalf("cooldown, build old enough: err = %v, file %q", err, read(t, df))
	}
}

func TestPlatformPin(t *testing.T) {
	s := registrytest.New(t)
	img := s.Push(t, "chainguard/go", "latest", t0)
	df := write(t, t.TempDir(), "Dockerfile", "FROM "+s.Ref("chainguard/go", "latest")+"\n")
	r := resolver(t)
	r.Platform = &v1.Platform{OS: "linux", Architecture: "arm64"}
	if _, err := run(t, r, Options{}, df); err != nil {
		t.Fatal(err)
	}
	var arm v1.Hash
	for _, p := range img.Platforms {
		if p.Platform.Architecture == "arm64" {
			arm = p.Digest
		}
	}
	if got := read(t, df); !strings.Contains(got, "@"+arm.String()) {
		t.Fatalf("got %q, want the arm64 digest %s", got, arm)
	}
}

func TestFailuresWriteNothing(t *testing.T) {
	s := registrytest.New(t, registrytest.WithUser("u", "p"), registrytest.WithPublic("chainguard"))
	s.Push(t, "chainguard/nginx", "latest", t0, "linux/amd64")
	s.Push(t, "private/app", "v1", t0, "linux/amd64")
	good := "FROM " + s.Ref("chainguard/nginx", "latest") + "\n"
	cases := []struct {
		name, content, want string
	}{
		{"unknown tag", "FROM " + s.Ref("chainguard/nginx", "nope") + "\n", "Dockerfile.bad:1: " + s.Ref("chainguard/nginx", "nope")},
		{"denied", "FROM " + s.Ref("chainguard/nginx", "latest") + "\nFROM " + s.Ref("private/app", "v1") + "\n", "Dockerfile.bad:2: " + s.Ref("private/app", "v1") + ": authentication required"},
		{"unreachable", "FROM 127.0.0.1:1/x/y:1\n", "cannot reach registry 127.0.0.1:1"},
		{"unparsable", "FROM a\n\nENV PATH\n", "Dockerfile.bad:3: cannot parse Dockerfile: ENV must have two arguments"},
		{"binary", "FROM a\x00\n", "binary file"},
		{"bad reference", "FROM UPPER:1\n", "invalid image reference"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ok := write(t, dir, "Dockerfile", good)
			bad := write(t, dir, "Dockerfile.bad", tc.content)
			_, err := run(t, resolver(t), Options{}, dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if read(t, ok) != good || read(t, bad) != tc.content {
				t.Error("a file was written despite the failure")
			}
		})
	}
	// Non-regular and missing files.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("nowhere", filepath.Join(dir, "dangling")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, "dangling"), "/dev/null"} {
		_, err := Build(context.Background(), []Source{{Path: p, Kind: ref.Dockerfile, Explicit: true}}, resolver(t), Options{})
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestCollect(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"Dockerfile", "a/Dockerfile.prod", "b/app.Dockerfile", "b/x.dockerfile", "c/Containerfile",
		".git/Dockerfile", "vendor/x/Dockerfile", "node_modules/Dockerfile", ".hidden/Dockerfile", "d/README", "skip/Dockerfile",
		"e/dockerfile.go", "e/Dockerfile.md", "e/Dockerfile.dockerignore", "e/dockerfile"} {
		write(t, dir, f, "FROM a\n")
	}
	got, err := Collect([]string{dir}, []string{"skip"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var rel []string
	for _, g := range got {
		r, _ := filepath.Rel(dir, g.Path)
		if g.Sniff { // e/dockerfile.go: Go, read only for "cgpin: image" markers
			if r != filepath.Join("e", "dockerfile.go") || g.Kind != "annotated" {
				t.Errorf("%s collected as a %s candidate", r, g.Kind)
			}
			continue
		}
		rel = append(rel, r)
	}
	want := "Dockerfile a/Dockerfile.prod b/app.Dockerfile b/x.dockerfile c/Containerfile"
	if strings.Join(rel, " ") != want {
		t.Errorf("Collect = %v, want %s", rel, want)
	}
	if _, err := Collect([]string{filepath.Join(dir, "missing")}, nil, nil); err == nil {
		t.Error("missing path accepted")
	}
	if _, err := Collect([]string{dir}, []string{"["}, nil); err == nil {
		t.Error("bad glob accepted")
	}
}

func TestDedupAcrossFiles(t *testing.T) {
	s := registrytest.New(t)
	dir := t.TempDir()
	for i := range 20 {
		s.Push(t, fmt.Sprintf("chainguard/img%d", i), "latest", t0, "linux/amd64")
	}
	for f := range 100 {
		write(t, dir, fmt.Sprintf("svc%d/Dockerfile", f), fmt.Sprintf("FROM %s\nFROM %s\n",
			s.Ref(fmt.Sprintf("chainguard/img%d", f%20), "latest"), s.Ref(fmt.Sprintf("chainguard/img%d", (f+1)%20), "latest")))
	}
	s.ResetCounts()
	p, err := run(t, resolver(t), Options{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	c := s.Counts()
	if len(p.Changes()) != 200 || p.Resolved != 20 || c.Manifest != 20 || c.Token != 20 {
		t.Errorf("changes %d resolved %d, requests %+v; want 200 changes from 20 HEADs and 20 tokens", len(p.Changes()), p.Resolved, c)
	}
}

func TestWriteKeepsModeAndOwnerAndRollsBack(t *testing.T) {
	dir := t.TempDir()
	a := write(t, dir, "a/Dockerfile", "FROM a:1\n")
	b := write(t, dir, "b/Dockerfile", "FROM b:1\n")
	if os.Geteuid() == 0 {
		if err := os.Chown(a, 1234, 5678); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(a, os.ModeSetgid|0o750); err != nil { // after chown, which clears it
		t.Fatal(err)
	}
	plan := func() *Plan {
		p := &Plan{}
		for _, path := range []string{a, b} {
			fp, err := readFile(path, maxFileSize)
			if err != nil {
				t.Fatal(err)
			}
			fp.New = append(append([]byte(nil), fp.Old...), "# pinned\n"...)
			fp.Changes = []Change{{File: path, Line: 1}}
			p.Files = append(p.Files, fp)
		}
		return p
	}
	if err := plan().Write(); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(a)
	if fi.Mode()&os.ModeSetgid == 0 || fi.Mode().Perm() != 0o750 {
		t.Errorf("mode = %v", fi.Mode())
	}
	if os.Geteuid() == 0 {
		if uid, gid := ownerOf(t, a); uid != 1234 || gid != 5678 {
			t.Errorf("owner = %d:%d", uid, gid)
		}
	}
	// A rename that fails half-way (the second target became a directory)
	// puts the first file back.
	p := plan()
	if err := os.Remove(b); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p.Files[1].Old = nil // skip the "changed on disk" check for the directory
	p.Files[1].Target = b
	before := read(t, a)
	err := p.Write()
	if err == nil {
		t.Fatal("write into a directory succeeded")
	}
	if got := read(t, a); got != before {
		t.Errorf("first file not restored: %q", got)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*", ".*cgpin*")); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}
}
