package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/commands"
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
// metadata type only; the hook none of the heavy packages.
func TestFrontLinksLittle(t *testing.T) {
	for pkg, allowed := range map[string][]string{
		".":      {"github.com/docker/cli/cli-plugins/metadata", "github.com/docker-cghistory/docker-cghistory/front"},
		"./hook": nil,
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
	if len(shortDescriptions) != len(commands.ShortDescriptions) {
		t.Errorf("front has %d commands, internal/commands %d", len(shortDescriptions), len(commands.ShortDescriptions))
	}
	for n, d := range commands.ShortDescriptions {
		if shortDescriptions[n] != d {
			t.Errorf("%s: front says %q, internal/commands %q", n, shortDescriptions[n], d)
		}
	}
}

// built builds the front, the hook and the full binary into a directory,
// as make install lays them out, and returns it.
func built(t testing.TB, ldflags string) string {
	t.Helper()
	dir := t.TempDir()
	for out, pkg := range map[string]string{"docker-cghistory": ".", HookName: "./hook", FullName: "../plugin"} {
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags+" -X main.version=front-test", "-o", filepath.Join(dir, out), pkg)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, b)
		}
	}
	return dir
}

// TestFront: through the plugin's three names (symlinks, as installed),
// the front's metadata is the full binary's byte for byte, the hook is
// answered, anything else reaches the full binary with argv[0] unchanged,
// and without the full binary the error names it.
func TestFront(t *testing.T) {
	dir := built(t, "")
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

	if err := os.Remove(filepath.Join(dir, FullName)); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(plugins, "docker-cgpin"), "cgpin", "--help")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), FullName+" is missing next to "+filepath.Join(dir, "docker-cghistory")) {
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
