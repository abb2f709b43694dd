package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
)

// TestHintsThroughDocker runs `docker build` under script(1) (docker runs
// hooks only when stdout is a terminal) with the hints enabled; without a
// daemon the build fails, which docker reports to hooks as it would any
// failure.
func TestHintsThroughDocker(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("script(1) is not installed")
	}
	s := registrytest.New(t)
	b1 := s.Push(t, "chainguard/go", "latest", t0, "linux/amd64")
	b2 := s.Push(t, "chainguard/go", "latest", t0.Add(time.Hour), "linux/amd64")
	ref := s.Ref("chainguard/go", "latest")
	d := newDockerEnv(t, `{"features":{"hooks":"true"}}`)
	r := d.docker("cghistory", "hints", "enable").ok(t)
	if !strings.Contains(r.stdout, "Hints follow: build") || !strings.Contains(r.stdout, "Docker runs plugin hooks") {
		t.Errorf("enable:\n%s", r.stdout)
	}
	build := func(dir string) string {
		cmd := exec.Command("script", "-qec", "docker build .", "/dev/null")
		cmd.Dir, cmd.Env = dir, d.env
		out, _ := cmd.CombinedOutput() // the build fails: no daemon
		return string(out)
	}
	ctx := t.TempDir()
	df := filepath.Join(ctx, "Dockerfile")
	write := func(s string) {
		if err := os.WriteFile(df, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("FROM " + ref + "\nFROM " + ref + "@" + b2.Digest.String() + "\n")
	if out := build(ctx); !strings.Contains(out, "What's next:") || !strings.Contains(out, "1 base image is unpinned: docker cgpin ./Dockerfile") {
		t.Errorf("unpinned build:\n%s", out)
	}
	// Pinned, with the tag's history cached by an earlier cghistory: the
	// way back is the time just before the pinned build.
	d.docker("cghistory", ref).ok(t)
	write("FROM " + ref + "@" + b2.Digest.String() + "\n")
	want := "docker cgpin --at " + s.History("chainguard/go", "latest")[1].At.Add(-time.Second).UTC().Format(time.RFC3339) + " ./Dockerfile"
	if out := build(ctx); !strings.Contains(out, want) {
		t.Errorf("pinned failed build, want %q:\n%s", want, out)
	}
	_ = b1
	off := newDockerEnv(t, "")
	if r := off.docker("cghistory", "hints", "enable").ok(t); !strings.Contains(r.stdout, "Docker does not run plugin hooks yet") || !strings.Contains(r.stdout, "DOCKER_CLI_HOOKS=true") {
		t.Errorf("enable without features.hooks:\n%s", r.stdout)
	}
	// Nothing to say: no Dockerfile here.
	if out := build(t.TempDir()); strings.Contains(out, "What's next") {
		t.Errorf("a hint without a Dockerfile:\n%s", out)
	}
	r = d.docker("cghistory", "hints", "disable").ok(t)
	if !strings.Contains(r.stdout, "Hints are off") {
		t.Errorf("disable:\n%s", r.stdout)
	}
	write("FROM " + ref + "\n")
	if out := build(ctx); strings.Contains(out, "What's next") {
		t.Errorf("a hint after disable:\n%s", out)
	}
}
