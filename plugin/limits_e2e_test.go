package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
)

// measured runs docker with args and returns its result, how long it took
// and the peak resident memory of docker and the plugin it ran. docker is
// started by a fresh copy of this test binary (rssWrapper): Linux carries
// the high-water RSS of the process that forks into the child's maximum at
// exec, so docker started from this large test process would report the
// test's own memory.
func (d *dockerEnv) measured(args ...string) (result, time.Duration, int64) {
	d.t.Helper()
	rssFile := filepath.Join(d.t.TempDir(), "rss")
	cmd := exec.Command(os.Args[0], append([]string{"docker"}, args...)...)
	cmd.Env = append(append([]string{}, d.env...), rssWrapEnv+"="+rssFile)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		d.t.Fatalf("docker %v: %v", args, err)
	}
	b, err := os.ReadFile(rssFile)
	if err != nil {
		d.t.Fatalf("docker %v: no peak RSS: %v\n%s", args, err, errb.String())
	}
	rss, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		d.t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}, took, rss
}

// rssWrapEnv names the file where rssWrapper writes the peak RSS.
const rssWrapEnv = "CGHISTORY_TEST_RSS_FILE"

// rssWrapper runs args and writes their peak resident memory in bytes
// (wait4's maximum, which covers the descendants docker waited for) to
// the file rssWrapEnv names; it returns the command's exit code.
func rssWrapper(args []string) int {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "rss wrapper:", err)
		return 127
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10
	if err := os.WriteFile(os.Getenv(rssWrapEnv), []byte(strconv.FormatInt(rss, 10)), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "rss wrapper:", err)
		return 127
	}
	return cmd.ProcessState.ExitCode()
}

// Hostile registries through the real docker CLI: an endless history, an
// endless tag list, a 1 GiB tag page, an oversize manifest, a status.d
// gzip bomb and a 1 GiB error body. Each run fails with the registry and
// the limit named, in a few seconds and well under 512 MB.
func TestHostileRegistriesThroughDocker(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	s.Push(t, "chainguard/nginx", "latest", t0, "linux/amd64")
	bomb := s.PushBomb(t, "chainguard/bomb", "latest",
		registrytest.BombFile{Path: "etc/os-release", Size: 0},
		registrytest.BombFile{Path: "var/lib/dpkg/status.d/a", Size: 60 << 20},
		registrytest.BombFile{Path: "var/lib/dpkg/status.d/b", Size: 60 << 20})
	var pages atomic.Int64
	cases := []struct {
		name     string
		override func()
		args     []string
		inErr    []string
	}{
		{"endless history", func() { s.OverrideHistory(registrytest.EndlessHistory(1000, &pages)) },
			[]string{"cghistory", s.Ref("chainguard/nginx", "latest")},
			[]string{"the tag history of latest in " + s.Host + "/chainguard/nginx is too large", fmt.Sprintf("more than %d records, the limit per tag", history.DefaultMaxRecords)}},
		{"endless tag list", func() { s.Override(`/tags/list$`, registrytest.EndlessTags(1000, &pages)) },
			[]string{"cghistory", "tags", s.Ref("chainguard/nginx", "")},
			[]string{"the tag list in " + s.Host + "/chainguard/nginx is too large", fmt.Sprintf("more than %d tags, the limit", registry.DefaultMaxTags)}},
		{"1 GiB tag page", func() { s.Override(`/tags/list$`, registrytest.HugeBody(200, `{"tags":[`, 1<<30)) },
			[]string{"cghistory", "tags", s.Ref("chainguard/nginx", "")},
			[]string{"the tag list in " + s.Host + "/chainguard/nginx is too large: a page larger than 16MiB, the limit per page"}},
		{"1 GiB manifest", func() { s.Override(`/manifests/`, registrytest.HugeBody(200, `{"manifests":[`, 1<<30)) },
			[]string{"cghistory", "--platforms", s.Ref("chainguard/nginx", "latest")},
			[]string{s.Host + "/chainguard/nginx is too large: over the 8MiB limit for manifests"}},
		{"status.d gzip bomb", func() {},
			[]string{"cgdiff", "--source", "layers", "--vulns", "none", "--platform", "linux/amd64", s.Ref("chainguard/bomb", "@"+bomb.String()), s.Ref("chainguard/bomb", "@"+bomb.String())},
			[]string{s.Host + "/chainguard/bomb is too large: more than 64MiB, the limit per layer"}},
		{"1 GiB error body", func() {
			s.OverrideHistory(registrytest.HugeBody(403, `{"errors":[{"code":"DENIED","message":"`, 1<<30))
		},
			[]string{"cghistory", s.Ref("chainguard/nginx", "latest")},
			[]string{"access denied to " + s.Host + "/chainguard/nginx for anonymous pulls"}},
	}
	d := newDockerEnv(t, "")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.override()
			defer s.OverrideHistory(nil)
			defer s.Override(`/tags/list$`, nil)
			defer s.Override(`/manifests/`, nil)
			r, took, rss := d.measured(tc.args...)
			r.fails(t, tc.inErr...)
			if len(r.stderr) > 1000 || strings.Contains(r.stderr, strings.Repeat(" ", 100)) {
				t.Errorf("stderr of %d bytes:\n%.1000s", len(r.stderr), r.stderr)
			}
			if rss > 512<<20 || took > 2*time.Minute {
				t.Errorf("peak RSS %d MiB, took %s", rss>>20, took)
			}
			t.Logf("peak RSS %d MiB, %s", rss>>20, took.Round(time.Millisecond))
		})
	}
}
