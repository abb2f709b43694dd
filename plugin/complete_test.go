package main

import (
	"strings"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/kinds"
	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
)

// completions runs `docker __complete ARGS…` and returns the candidates
// (without descriptions) and the directive line.
func completions(t *testing.T, d *dockerEnv, env []string, args ...string) ([]string, []string, string) {
	t.Helper()
	r := d.run("", env, append([]string{"__complete"}, args...)...).ok(t)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	directive := lines[len(lines)-1]
	var values, descs []string
	for _, l := range lines[:len(lines)-1] {
		v, desc, _ := strings.Cut(l, "\t")
		values, descs = append(values, v), append(descs, desc)
	}
	return values, descs, directive
}

func TestCompletionThroughDocker(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	b1 := s.Push(t, "chainguard/nginx", "latest", t0)
	b2 := s.Push(t, "chainguard/nginx", "latest", t0.Add(3600e9))
	s.Push(t, "chainguard/nginx", "1.27", t0, "linux/amd64")
	d := newDockerEnv(t, "")
	env := []string{"CGHISTORY_NAMESPACE=" + s.Host + "/chainguard"}

	// Cold: nothing used yet, so no names; tags and builds from the network.
	if names, _, _ := completions(t, d, env, "cghistory", ""); strings.Join(names, " ") != "auth bisect hints tags version" { // the subcommands only
		t.Errorf("cold names = %v", names)
	}
	tags, _, dir := completions(t, d, env, "cghistory", "nginx:")
	if strings.Join(tags, " ") != "nginx:1.27 nginx:latest" || dir != ":4" {
		t.Errorf("tags = %v %s", tags, dir)
	}
	builds, dates, _ := completions(t, d, env, "cgdiff", "nginx~")
	if strings.Join(builds, " ") != "nginx~0 nginx~1" || !strings.HasPrefix(dates[1], t0.Format("2006-01-02T15")) {
		t.Errorf("builds = %v %v", builds, dates)
	}
	plats, _, _ := completions(t, d, env, "cghistory", "nginx", "--platform", "")
	if strings.Join(plats, " ") != "linux/amd64 linux/arm64" {
		t.Errorf("platforms = %v", plats)
	}

	// Warm: the registry is gone; everything comes from the cache.
	s.Close()
	names, _, dir := completions(t, d, env, "cghistory", "ng")
	if strings.Join(names, " ") != "nginx" || dir != ":6" { // no space: ":" or "~" may follow
		t.Errorf("names = %v %s", names, dir)
	}
	digests, _, _ := completions(t, d, env, "cgdiff", "nginx@sha256:")
	if strings.Join(digests, " ") != "nginx@"+b2.Digest.String()+" nginx@"+b1.Digest.String() {
		t.Errorf("digests = %v", digests)
	}
	since, _, _ := completions(t, d, env, "cghistory", "nginx", "--since", "")
	if len(since) != 2 || !strings.HasPrefix(since[1], t0.Format("2006-01-02")) {
		t.Errorf("--since = %v", since)
	}
	if tags, _, _ := completions(t, d, env, "cghistory", "nginx:l"); strings.Join(tags, " ") != "nginx:latest" {
		t.Errorf("warm tags = %v", tags)
	}
}

// TestCompletePaths: cgpin's paths and --exclude complete as file and
// directory names (directive 0: the shell's own completion, globs
// included); docker's plugin command turns file completion off for every
// argument that registers nothing, so "docker cgpin <TAB>" offered nothing.
func TestCompletePaths(t *testing.T) {
	t.Parallel()
	d := newDockerEnv(t, "")
	for _, args := range [][]string{{"cgpin", ""}, {"cgpin", "deploy/"}, {"cgpin", "--check", "Dockerfile", ""}, {"cgpin", "--exclude", ""}} {
		if values, _, dir := completions(t, d, nil, args...); len(values) != 0 || dir != ":0" {
			t.Errorf("docker __complete %q = %q %s, want file names (:0)", args, values, dir)
		}
	}
	// Flags with values of their own still offer them, without file names.
	var want []string
	for _, k := range kinds.Names() {
		want = append(want, string(k))
	}
	if got, _, dir := completions(t, d, nil, "cgpin", "--kind", ""); strings.Join(got, " ") != strings.Join(want, " ") || dir != ":4" {
		t.Errorf("--kind = %v %s, want %v", got, dir, want)
	}
}
