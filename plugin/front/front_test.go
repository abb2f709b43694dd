package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/cache"
	"github.com/docker-cghistory/docker-cghistory/internal/commands"
	"github.com/docker-cghistory/docker-cghistory/internal/history/cached"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// heavy are packages the hot paths must not link: each runs its inits in
// every process (sigstore-go and its OpenAPI models, go-containerregistry's
// registry client, distribution, docker's CLI and daemon client, gRPC,
// OpenTelemetry).
var heavy = []string{
	"github.com/sigstore/", "github.com/google/go-containerregistry/pkg/v1/remote", "github.com/distribution/",
	"github.com/docker/cli/cli/command", "github.com/moby/moby/client", "google.golang.org/grpc",
	"go.opentelemetry.io/", "github.com/go-openapi/", "github.com/asaskevich/govalidator", "net/http",
}

// TestFrontLinksLittle: the front links the standard library and docker's
// metadata type only (and the hand-off); the hook none of the heavy
// packages.
func TestFrontLinksLittle(t *testing.T) {
	t.Parallel()
	for pkg, allowed := range map[string][]string{
		".": {"github.com/docker/cli/cli-plugins/metadata", "github.com/docker-cghistory/docker-cghistory/plugin/front",
			"github.com/docker-cghistory/docker-cghistory/internal/handoff"},
		"./hot": nil,
	} {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if allowed != nil && strings.Contains(strings.SplitN(dep, "/", 2)[0], ".") && !contains(allowed, dep) {
				t.Errorf("%s links %s: the front links the standard library and docker's metadata type only", pkg, dep)
			}
			for _, h := range heavy {
				if strings.HasPrefix(dep, h) {
					t.Errorf("%s links %s", pkg, dep)
				}
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// TestShortDescriptions: the front tells docker what the commands say.
func TestShortDescriptions(t *testing.T) {
	t.Parallel()
	if len(shortDescriptions) != len(commands.ShortDescriptions) {
		t.Errorf("front has %d commands, internal/commands %d", len(shortDescriptions), len(commands.ShortDescriptions))
	}
	for n, d := range commands.ShortDescriptions {
		if shortDescriptions[n] != d {
			t.Errorf("%s: front says %q, internal/commands %q", n, shortDescriptions[n], d)
		}
	}
}

// TestMain removes the binaries the tests share (sharedBuilt).
func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

var shared struct {
	sync.Once
	dir string
	err error
}

// sharedBuilt is built(t, "-s -w") (stripped, as a release) once for the
// package: the tests only run the binaries (a test that takes one away
// does so in its own copy, frontAlone), and each build links the full
// binary, seconds apiece.
func sharedBuilt(t *testing.T) string {
	t.Helper()
	shared.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "cghistory-front-test-")
		if shared.err == nil {
			shared.err = build(shared.dir, "-s -w")
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.dir
}

// built builds the front, the hook and the full binary into a directory,
// as make install lays them out, and returns it.
func built(t testing.TB, ldflags string) string {
	t.Helper()
	dir := t.TempDir()
	if err := build(dir, ldflags); err != nil {
		t.Fatal(err)
	}
	return dir
}

// build builds the three binaries into dir with one go build, which links
// them in parallel, and gives them their installed names.
func build(dir, ldflags string) error {
	out := filepath.Join(dir, "go-build")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags+" -X main.version=front-test", "-o", out+string(filepath.Separator), ".", "./hot", "..")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, b)
	}
	// go build -o DIR names each binary after its package's last path
	// element.
	for from, to := range map[string]string{"front": "docker-cghistory", "hot": HotName, "plugin": FullName} {
		if err := os.Rename(filepath.Join(out, from), filepath.Join(dir, to)); err != nil {
			return err
		}
	}
	return os.Remove(out)
}

// frontAlone is a new directory holding copies of the front and the hook
// of dir, without the full binary.
func frontAlone(t *testing.T, dir string) string {
	t.Helper()
	alone := t.TempDir()
	for _, n := range []string{"docker-cghistory", HotName} {
		copyExecutable(t, filepath.Join(dir, n), filepath.Join(alone, n))
	}
	return alone
}

// copyExecutable copies *os.File to *os.File, which the kernel does: the
// bytes do not pass through this race-instrumented process.
func copyExecutable(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestFront: through the plugin's three names (symlinks, as installed),
// the front's metadata is the full binary's byte for byte, the hook is
// answered, anything else reaches the full binary with argv[0] unchanged,
// and without the full binary the error names it. Not parallel: the hook
// answers only within its deadline (hints.Deadline).
func TestFront(t *testing.T) {
	dir := sharedBuilt(t)
	plugins, fulls := t.TempDir(), t.TempDir()
	for _, n := range []string{"cghistory", "cgdiff", "cgpin"} {
		if err := os.Symlink(filepath.Join(dir, "docker-cghistory"), filepath.Join(plugins, "docker-"+n)); err != nil {
			t.Fatal(err)
		}
		full := filepath.Join(fulls, "docker-"+n)
		if err := os.Symlink(filepath.Join(dir, FullName), full); err != nil {
			t.Fatal(err)
		}
		want := output(t, "", full, "docker-cli-plugin-metadata")
		if got := output(t, "", filepath.Join(plugins, "docker-"+n), "docker-cli-plugin-metadata"); got != want || !strings.Contains(got, `"Version": "front-test"`) {
			t.Errorf("docker-%s metadata:\n%s\nfull binary's:\n%s", n, got, want)
		}
	}

	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "Dockerfile"), []byte("FROM cgr.dev/chainguard/static:latest\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hook := output(t, work, filepath.Join(plugins, "docker-cghistory"), "cghistory", "docker-cli-plugin-hooks", `{"RootCmd":"build","Flags":{},"CommandError":""}`)
	if !strings.Contains(hook, "1 base image is unpinned: docker cgpin ./Dockerfile") {
		t.Errorf("hook: %q", hook)
	}

	// Run outside docker, the full binary prints docker's help for the
	// plugin's own command, named after argv[0].
	if help := output(t, "", filepath.Join(plugins, "docker-cgpin"), "cgpin", "--help"); !strings.Contains(help, "docker cgpin") {
		t.Errorf("cgpin --help through the front:\n%s", help)
	}

	// The shared build stays whole: the full binary is missing from a
	// copy of the front and the hook.
	alone, lonely := frontAlone(t, dir), t.TempDir()
	if err := os.Symlink(filepath.Join(alone, "docker-cghistory"), filepath.Join(lonely, "docker-cgpin")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(lonely, "docker-cgpin"), "cgpin", "--help")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), FullName+" is missing next to "+filepath.Join(alone, "docker-cghistory")) {
		t.Errorf("without the full binary: %v, %s", err, stderr.String())
	}
}

func output(t *testing.T, dir, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "CGHISTORY_CACHE_DIR="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return string(out)
}

// TestCompleteFromCache: completion of past builds through the front is
// the full binary's, byte for byte: answered from the cache when it holds
// the history (with the namespace from the environment or the docker
// config), handed on otherwise (flags, names, nothing cached).
func TestCompleteFromCache(t *testing.T) {
	t.Parallel()
	dir := sharedBuilt(t)
	// alone: the front and the hook without the full binary, to show
	// what is answered without it.
	plugins, fulls, alone, aloneDir := t.TempDir(), t.TempDir(), t.TempDir(), frontAlone(t, dir)
	for _, n := range []string{"cghistory", "cgdiff"} {
		if err := os.Symlink(filepath.Join(dir, "docker-cghistory"), filepath.Join(plugins, "docker-"+n)); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(aloneDir, "docker-cghistory"), filepath.Join(alone, "docker-"+n)); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(dir, FullName), filepath.Join(fulls, "docker-"+n)); err != nil {
			t.Fatal(err)
		}
	}
	cacheDir := t.TempDir()
	c := cache.New(cacheDir, 0)
	for _, image := range []string{"127.0.0.1:9/chainguard/nginx:latest", "127.0.0.1:9/acme/app:1"} {
		tag, err := name.NewTag(image)
		if err != nil {
			t.Fatal(err)
		}
		var entries []cached.Entry
		for i := range 12 {
			entries = append(entries, cached.Entry{Digest: v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%064x", i+1)}, UpdatedAt: t0.Add(-time.Duration(i) * time.Hour)})
		}
		cached.Remember(c, tag, entries)
	}
	configured := t.TempDir()
	if err := os.WriteFile(filepath.Join(configured, "config.json"), []byte(`{"plugins":{"cghistory":{"namespace":"127.0.0.1:9/acme"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	envNS := []string{"CGHISTORY_NAMESPACE=127.0.0.1:9/chainguard", "DOCKER_CONFIG=" + t.TempDir()}
	for _, tc := range []struct {
		env    []string
		args   []string
		cached bool
	}{
		{envNS, []string{"cghistory", "nginx~"}, true},
		{envNS, []string{"cghistory", "nginx~1"}, true},
		{envNS, []string{"cgdiff", "nginx@sha256:00"}, true},
		{envNS, []string{"cghistory", "nginx:latest@"}, true},
		{[]string{"DOCKER_CONFIG=" + configured}, []string{"cghistory", "app:1~"}, true},
		{envNS, []string{"cghistory", "-n", "3", "nginx~"}, false},
		{envNS, []string{"cghistory", "ngi"}, false},
		{envNS, []string{"cghistory", "redis~"}, false},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			complete := func(bin string) string {
				cmd := exec.Command(bin, append([]string{"__complete"}, tc.args...)...)
				cmd.Env = append(os.Environ(), append([]string{"CGHISTORY_CACHE_DIR=" + cacheDir, "CGHISTORY_NAMESPACE="}, tc.env...)...)
				out, err := cmd.Output()
				if err != nil {
					return "error: " + err.Error()
				}
				return string(out)
			}
			want := complete(filepath.Join(fulls, "docker-"+tc.args[0]))
			got := complete(filepath.Join(plugins, "docker-"+tc.args[0]))
			if got != want {
				t.Errorf("through the front:\n%s\nthe full binary:\n%s", got, want)
			}
			if !tc.cached {
				return
			}
			if !strings.Contains(got, "\t2026-11-") {
				t.Errorf("no build from the cache:\n%s", got)
			}
			if alone := complete(filepath.Join(alone, "docker-"+tc.args[0])); alone != want {
				t.Errorf("not answered by the hook alone:\n%s", alone)
			}
		})
	}
}

var t0 = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
