package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
)

// TestHintsThroughDocker runs `docker build` under script(1) (docker runs
// hooks only when stdout is a terminal) with the hints enabled; without a
// daemon the build fails, which docker reports to hooks as it would any
// failure.
func TestHintsThroughDocker(t *testing.T) {
	t.Parallel()
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
	if out := build(ctx); !strings.Contains(out, want) || !strings.Contains(strings.Join(strings.Fields(out), " "), "docker cghistory bisect "+ref+" --good WHEN-IT-LAST-WORKED --bad "+b2.Digest.String()) {
		t.Errorf("pinned failed build, want %q and the bisect command:\n%s", want, out)
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

// TestHintsHostileDockerfile runs `docker build` with hints on in
// directories whose Dockerfile is not a small regular file: a symlink to
// /dev/zero (the hook used to read it until memory ran out), a FIFO (the
// hook used to block on it forever), a 5 MiB file, and a symlink out of
// the directory. Each build returns promptly and no hint is given; a
// symlink to a Dockerfile inside the directory still gets its hint.
func TestHintsHostileDockerfile(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("script(1) is not installed")
	}
	if _, err := exec.LookPath("timeout"); err != nil {
		t.Skip("timeout(1) is not installed")
	}
	d := newDockerEnv(t, `{"features":{"hooks":"true"}}`)
	d.docker("cghistory", "hints", "enable").ok(t)
	unpinned := "FROM cgr.dev/chainguard/go:latest\n"
	outside := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(outside, []byte(unpinned), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		setup func(dir string) error
		hint  bool
	}{
		{"symlink to /dev/zero", func(dir string) error { return os.Symlink("/dev/zero", filepath.Join(dir, "Dockerfile")) }, false},
		{"FIFO", func(dir string) error { return syscall.Mkfifo(filepath.Join(dir, "Dockerfile"), 0o644) }, false},
		{"5 MiB", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(unpinned+strings.Repeat("# padding\n", 5<<20/10)), 0o644)
		}, false},
		{"symlink out of the directory", func(dir string) error { return os.Symlink(outside, filepath.Join(dir, "Dockerfile")) }, false},
		{"symlink inside the directory", func(dir string) error {
			if err := os.WriteFile(filepath.Join(dir, "build.Dockerfile"), []byte(unpinned), 0o644); err != nil {
				return err
			}
			return os.Symlink("build.Dockerfile", filepath.Join(dir, "Dockerfile"))
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := tc.setup(dir); err != nil {
				t.Fatal(err)
			}
			// timeout(1) signals its whole process group (docker and the
			// hook it runs), so a hook that hangs is ended with the test.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "script", "-qec", "timeout -k 2 10 docker build .", "/dev/null")
			cmd.Dir, cmd.Env, cmd.WaitDelay = dir, d.env, 2*time.Second
			start := time.Now()
			b, _ := cmd.CombinedOutput() // the build fails: no daemon
			out, took := string(b), time.Since(start)
			if took > 5*time.Second {
				t.Errorf("docker build took %s", took)
			}
			if got := strings.Contains(out, "1 base image is unpinned"); got != tc.hint {
				t.Errorf("hint given: %v, want %v:\n%s", got, tc.hint, out)
			}
			if !tc.hint && strings.Contains(out, "What's next") {
				t.Errorf("a hint:\n%s", out)
			}
		})
	}
}

// TestHintDeadline: whatever holds the hook up (here the cached history of
// the pinned tag replaced by a FIFO nobody writes, as a slow or hostile
// file system would), docker gets its answer within the deadline: the hook
// used to wait forever, and docker build with it.
func TestHintDeadline(t *testing.T) {
	s := registrytest.New(t)
	b := s.Push(t, "chainguard/go", "latest", t0, "linux/amd64")
	ref := s.Ref("chainguard/go", "latest")
	d := newDockerEnv(t, "")
	d.docker("cghistory", ref).ok(t) // caches the tag's history
	var cacheDir string
	for _, kv := range d.env {
		if v, ok := strings.CutPrefix(kv, "CGHISTORY_CACHE_DIR="); ok {
			cacheDir = v
		}
	}
	var entries []string
	_ = filepath.WalkDir(cacheDir, func(path string, e os.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() && filepath.Base(filepath.Dir(path)) == "history" {
			entries = append(entries, path)
		}
		return nil
	})
	if len(entries) == 0 {
		t.Fatalf("no cached history under %s", cacheDir)
	}
	for _, p := range entries {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+ref+"@"+b.Digest.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, pluginBinary, "cghistory", "docker-cli-plugin-hooks", `{"RootCmd":"build","Flags":{},"CommandError":"exit status 1"}`)
	cmd.Dir, cmd.Env = dir, d.env
	start := time.Now()
	out, _ := cmd.Output()
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the hook took %s (output %q)", took, out)
	}
}
