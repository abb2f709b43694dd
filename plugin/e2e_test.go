package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
)

// pluginBinary (the full binary) and helperDir (holding
// docker-credential-cghistory) are built once by TestMain, and frontBinary
// with cghistory-hot and cghistory-full beside it, as installed: docker
// runs the plugin through the front.
var pluginBinary, frontBinary, helperDir string

func TestMain(m *testing.M) {
	if os.Getenv(rssWrapEnv) != "" {
		os.Exit(rssWrapper(os.Args[1:]))
	}
	dir, err := os.MkdirTemp("", "cghistory-e2e-")
	if err != nil {
		panic(err)
	}
	pluginBinary = filepath.Join(dir, "docker-cghistory")
	helperDir = filepath.Join(dir, "helpers")
	frontBinary = filepath.Join(dir, "front", "docker-cghistory")
	if err := os.MkdirAll(filepath.Dir(frontBinary), 0o755); err != nil {
		panic(err)
	}
	if err := os.Symlink(pluginBinary, filepath.Join(dir, "front", "cghistory-full")); err != nil {
		panic(err)
	}
	// One go build for the four (it links them in parallel); -trimpath:
	// the compiled packages are then shared with the front tests and the
	// pre-commit hooks' build, at other paths. -s -w, as a release: no
	// symbol table or DWARF, a fifth less time linking.
	built := filepath.Join(dir, "built")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=e2e-test", "-o", built+string(filepath.Separator),
		".", "../credhelper", "./front", "./front/hot")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
	if err := os.MkdirAll(helperDir, 0o755); err != nil {
		panic(err)
	}
	for from, to := range map[string]string{"plugin": pluginBinary, "credhelper": filepath.Join(helperDir, "docker-credential-cghistory"),
		"front": frontBinary, "hot": filepath.Join(dir, "front", "cghistory-hot")} {
		if err := os.Rename(filepath.Join(built, from), to); err != nil {
			panic(err)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// longTest skips t unless CGHISTORY_TEST_LONG is set (make test-long, which
// CI runs after make test): t is one of the genuinely slow cases, as what
// says (they build the module or the release).
func longTest(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("CGHISTORY_TEST_LONG") == "" {
		t.Skipf("%s, which is slow: make test-long runs it", what)
	}
}

// dockerEnv is a temp DOCKER_CONFIG with the plugin installed under its
// three names, and the environment the docker CLI runs with.
type dockerEnv struct {
	t      *testing.T
	config string
	env    []string
}

func newDockerEnv(t *testing.T, configJSON string) *dockerEnv {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("the docker CLI is not installed; .ci/run should have installed it")
		}
		t.Skip("the docker CLI is not installed")
	}
	cfg := t.TempDir()
	plugins := filepath.Join(cfg, "cli-plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"cghistory", "cgdiff", "cgpin"} {
		if err := os.Symlink(frontBinary, filepath.Join(plugins, "docker-"+n)); err != nil {
			t.Fatal(err)
		}
	}
	if configJSON != "" {
		if err := os.WriteFile(filepath.Join(cfg, "config.json"), []byte(configJSON), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "DOCKER_CONFIG", "DOCKER_AUTH_CONFIG", "CGHISTORY_NAMESPACE", "CGHISTORY_CACHE_DIR", "DOCKER_HOST", "DEBUG", "GOMAXPROCS":
			continue
		}
		env = append(env, kv)
	}
	// GOMAXPROCS=1: docker and the plugin run on one P, as on a one-CPU
	// runner. The package's tests run in parallel beside other test
	// binaries on every core, where a second P mostly spins looking for
	// work: a docker cghistory run costs about a quarter less CPU so
	// (measured with perf stat), and the plugin's timeouts and bounds are
	// then shown to hold without a spare core.
	env = append(env, "DOCKER_CONFIG="+cfg, "CGHISTORY_CACHE_DIR="+filepath.Join(t.TempDir(), "cache"),
		"DOCKER_HOST=unix:///nonexistent/docker.sock", "NO_COLOR=1", "GOMAXPROCS=1")
	return &dockerEnv{t: t, config: cfg, env: env}
}

type result struct {
	stdout, stderr string
	code           int
}

func (d *dockerEnv) run(stdin string, extraEnv []string, args ...string) result {
	d.t.Helper()
	cmd := exec.Command("docker", args...)
	cmd.Env = append(append([]string(nil), d.env...), extraEnv...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			d.t.Fatalf("docker %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return result{out.String(), errb.String(), code}
}

func (d *dockerEnv) docker(args ...string) result {
	d.t.Helper()
	return d.run("", nil, args...)
}

func (r result) ok(t *testing.T) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	return r
}

func (r result) fails(t *testing.T, wantInStderr ...string) result {
	t.Helper()
	if r.code == 0 {
		t.Fatalf("succeeded, want failure\nstdout:\n%s", r.stdout)
	}
	for _, w := range wantInStderr {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
	return r
}

var t0 = time.Now().UTC().Add(-72 * time.Hour).Truncate(time.Second)

func TestDockerSeesThePlugin(t *testing.T) {
	t.Parallel()
	d := newDockerEnv(t, "")
	help := d.docker("--help").ok(t).stdout
	for _, n := range []string{"cghistory*", "cgdiff*", "cgpin*"} {
		if !strings.Contains(help, n) {
			t.Errorf("docker --help lacks %s", n)
		}
	}
	info := d.docker("info", "--format", "{{json .ClientInfo.Plugins}}")
	for _, n := range []string{`"Name":"cghistory"`, `"Name":"cgdiff"`, `"Name":"cgpin"`, `"Version":"e2e-test"`} {
		if !strings.Contains(info.stdout, n) {
			t.Errorf("docker info lacks %s:\n%s\n%s", n, info.stdout, info.stderr)
		}
	}
	if h := d.docker("cgdiff", "--help").ok(t).stdout; !strings.Contains(h, "docker cgdiff [OPTIONS] FROM [TO]") {
		t.Errorf("cgdiff --help:\n%s", h)
	}
	d.docker("cgpin", filepath.Join(t.TempDir(), "missing")).fails(t, "no such file or directory")
	comp := d.docker("__complete", "cghistory", "").ok(t).stdout
	if !strings.Contains(comp, "tags") {
		t.Errorf("completion lacks the tags subcommand:\n%s", comp)
	}
	comp = d.docker("__complete", "cghistory", "--platform", "").ok(t).stdout
	if !strings.Contains(comp, "linux/amd64") {
		t.Errorf("--platform completion:\n%s", comp)
	}
}

func TestHistoryThroughDocker(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	var digests []string
	for i := range 3 {
		img := s.Push(t, "chainguard/nginx", "latest", t0.Add(time.Duration(i)*time.Hour))
		digests = append([]string{img.Digest.String()}, digests...)
	}
	d := newDockerEnv(t, "")
	ref := s.Ref("chainguard/nginx", "")

	table := d.docker("cghistory", ref).ok(t).stdout
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "UPDATED") || !strings.Contains(lines[0], "DIGEST") {
		t.Fatalf("table:\n%s", table)
	}
	for i, dg := range digests {
		short := dg[:len("sha256:")+12]
		if !strings.Contains(lines[i+1], short) || strings.Contains(lines[i+1], dg) {
			t.Errorf("row %d = %q, want truncated %s", i+1, lines[i+1], short)
		}
	}
	if !strings.Contains(lines[1], "days ago") {
		t.Errorf("row 1 lacks a humanised age: %q", lines[1])
	}

	if got := d.docker("cghistory", "--no-trunc", ref).ok(t).stdout; !strings.Contains(got, digests[0]) {
		t.Errorf("--no-trunc:\n%s", got)
	}
	if got := strings.Fields(d.docker("cghistory", "-q", ref).ok(t).stdout); strings.Join(got, " ") != strings.Join(digests, " ") {
		t.Errorf("-q = %v, want %v", got, digests)
	}
	if got := strings.Fields(d.docker("cghistory", "-q", "-n", "1", ref).ok(t).stdout); len(got) != 1 || got[0] != digests[0] {
		t.Errorf("-n 1 = %v", got)
	}
	since := t0.Add(90 * time.Minute).Format(time.RFC3339)
	if got := strings.Fields(d.docker("cghistory", "-q", "--since", since, ref).ok(t).stdout); len(got) != 1 {
		t.Errorf("--since = %v", got)
	}
	if got := strings.Fields(d.docker("cghistory", "-q", "--until", "71h30m", ref).ok(t).stdout); len(got) != 1 || got[0] != digests[2] {
		t.Errorf("--until 71h30m = %v", got)
	}
	if got := d.docker("cghistory", "--format", "{{.Digest}} {{.Tag}}", "--no-trunc", "-n", "1", ref).ok(t).stdout; got != digests[0]+" latest\n" {
		t.Errorf("template = %q", got)
	}

	var objs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(d.docker("cghistory", "--format", "json", ref).ok(t).stdout), "\n") {
		var o map[string]any
		if err := json.Unmarshal([]byte(line), &o); err != nil {
			t.Fatalf("json line %q: %v", line, err)
		}
		objs = append(objs, o)
	}
	if len(objs) != 3 || objs[0]["Digest"] != digests[0] || objs[0]["Tag"] != "latest" || objs[0]["Image"] != s.Host+"/chainguard/nginx" {
		t.Fatalf("json = %v", objs)
	}
	if _, err := time.Parse(time.RFC3339, objs[2]["UpdatedAt"].(string)); err != nil || objs[2]["UpdatedAt"] != t0.Format(time.RFC3339) {
		t.Errorf("UpdatedAt = %v", objs[2]["UpdatedAt"])
	}
	if _, ok := objs[0]["Platforms"]; ok {
		t.Error("Platforms present without --platforms")
	}

	// Bare names expand with the configured namespace.
	env := []string{"CGHISTORY_NAMESPACE=" + s.Host + "/chainguard"}
	if got := d.run("", env, "cghistory", "-q", "nginx").ok(t).stdout; strings.Fields(got)[0] != digests[0] {
		t.Errorf("CGHISTORY_NAMESPACE: %s", got)
	}
	d2 := newDockerEnv(t, fmt.Sprintf(`{"plugins":{"cghistory":{"namespace":%q}}}`, s.Host+"/chainguard"))
	if got := d2.docker("cghistory", "-q", "nginx:latest").ok(t).stdout; strings.Fields(got)[0] != digests[0] {
		t.Errorf("plugins.cghistory.namespace: %s", got)
	}
}

func TestPlatformsThroughDocker(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	multi := s.Push(t, "chainguard/go", "latest", t0, "linux/amd64", "linux/arm64")
	single := s.Push(t, "chainguard/go", "latest", t0.Add(time.Hour), "linux/amd64")
	d := newDockerEnv(t, "")
	ref := s.Ref("chainguard/go", "latest")
	out := d.docker("cghistory", "--platforms", ref).ok(t).stdout
	if !strings.Contains(out, "PLATFORMS") || !strings.Contains(out, "linux/arm64: sha256:") || strings.Count(out, "linux/amd64: sha256:") != 2 {
		t.Errorf("--platforms:\n%s", out)
	}
	var arm string
	for _, p := range multi.Platforms {
		if p.Platform.Architecture == "arm64" {
			arm = p.Digest.String()
		}
	}
	if got := strings.Fields(d.docker("cghistory", "--platform", "linux/arm64", "-q", ref).ok(t).stdout); len(got) != 1 || got[0] != arm {
		t.Errorf("--platform linux/arm64 -q = %v, want [%s]", got, arm)
	}
	// The same filter in every format: only the build that has arm64.
	if got := strings.Split(strings.TrimSpace(d.docker("cghistory", "--platform", "linux/arm64", "--format", "json", ref).ok(t).stdout), "\n"); len(got) != 1 || !strings.Contains(got[0], arm) {
		t.Errorf("--platform json = %v", got)
	}
	// -q does not override an explicit --format (as in docker).
	if got := d.docker("cghistory", "-q", "--format", "{{.Tag}}", ref).ok(t).stdout; got != "latest\nlatest\n" {
		t.Errorf("-q --format = %q", got)
	}
	line := strings.Split(strings.TrimSpace(d.docker("cghistory", "--platforms", "--format", "json", "-n", "1", ref).ok(t).stdout), "\n")[0]
	var o struct {
		Platforms []struct {
			Platform, Digest string
			Size             int64
		}
	}
	if err := json.Unmarshal([]byte(line), &o); err != nil {
		t.Fatal(err)
	}
	if len(o.Platforms) != 1 || o.Platforms[0].Platform != "linux/amd64" || o.Platforms[0].Digest != single.Digest.String() || o.Platforms[0].Size != single.Platforms[0].Size {
		t.Errorf("json platforms = %+v, want %+v", o.Platforms, single.Platforms)
	}
}

func TestTagsThroughDocker(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	s.Push(t, "chainguard/nginx", "latest", t0, "linux/amd64")
	s.Push(t, "chainguard/nginx", "latest-dev", t0, "linux/amd64")
	s.Push(t, "chainguard/nginx", "sha256-"+strings.Repeat("a", 64)+".sig", t0, "linux/amd64")
	d := newDockerEnv(t, "")
	got := d.docker("cghistory", "tags", "-q", s.Ref("chainguard/nginx", "")).ok(t).stdout
	if got != "latest\nlatest-dev\n" {
		t.Errorf("tags = %q", got)
	}
	got = d.docker("cghistory", "tags", "--all", s.Ref("chainguard/nginx", "")).ok(t).stdout
	if !strings.HasPrefix(got, "TAG\n") || !strings.Contains(got, ".sig") {
		t.Errorf("tags --all = %q", got)
	}
}

func TestCredentialsThroughDocker(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t, registrytest.WithUser("alice", "alice-secret-9"), registrytest.WithPublic("chainguard"))
	img := s.Push(t, "private/app", "v1", t0)
	ref := s.Ref("private/app", "v1")
	secret := "alice-secret-9"
	b64 := base64.StdEncoding.EncodeToString([]byte("alice:" + secret))

	// Anonymous: a clear message naming the registry and the fix.
	d := newDockerEnv(t, "")
	r := d.docker("cghistory", ref).fails(t, "authentication required", "docker login "+s.Host)
	if r.stdout != "" {
		t.Errorf("stdout on error: %q", r.stdout)
	}

	// `docker login` writes auths; the plugin uses them.
	d.run(secret, nil, "login", "-u", "alice", "--password-stdin", s.Host).ok(t)
	r = d.docker("cghistory", "--debug", "-q", ref).ok(t)
	if strings.TrimSpace(r.stdout) != img.Digest.String() {
		t.Errorf("after docker login: %q", r.stdout)
	}
	if !strings.Contains(r.stderr, "GET http://"+s.Host+"/v2/private/app/_chainguard/history/v1 200") {
		t.Errorf("--debug log lacks the request:\n%s", r.stderr)
	}
	// The global -D flag turns on the same log.
	r = d.docker("-D", "cghistory", "-q", ref).ok(t)
	if !strings.Contains(r.stderr, "/_chainguard/history/v1 200") {
		t.Errorf("-D log lacks the request:\n%s", r.stderr)
	}
	assertNoSecret(t, r, secret, b64)

	// A credential helper on PATH, via credHelpers.
	bin := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread s\nprintf '{\"ServerURL\":\"%%s\",\"Username\":\"alice\",\"Secret\":\"%s\"}' \"$s\"\n", secret)
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-e2e"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	path := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")}
	dh := newDockerEnv(t, fmt.Sprintf(`{"credHelpers":{%q:"e2e"}}`, s.Host))
	r = dh.run("", path, "cghistory", "--debug", "-q", ref).ok(t)
	assertNoSecret(t, r, secret, b64)

	// Wrong credentials: denied, with the source named and no secret shown.
	dw := newDockerEnv(t, fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, s.Host, base64.StdEncoding.EncodeToString([]byte("alice:wrong-pw-77"))))
	r = dw.docker("cghistory", "--debug", ref).fails(t, "access denied", "auths (user alice)")
	assertNoSecret(t, r, "wrong-pw-77")
}

func TestBrokenCredentialHelperFallsBackToAnonymous(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	img := s.Push(t, "chainguard/nginx", "latest", t0, "linux/amd64")
	d := newDockerEnv(t, `{"credsStore":"gone-away"}`)
	r := d.docker("cghistory", "-q", "--no-trunc", s.Ref("chainguard/nginx", "")).ok(t)
	if strings.TrimSpace(r.stdout) != img.Digest.String() || !strings.Contains(r.stderr, "WARNING") || !strings.Contains(r.stderr, "gone-away") {
		t.Errorf("stdout %q stderr %q", r.stdout, r.stderr)
	}

	// A helper whose answer carries terminal controls: the warning and the
	// --debug log show them escaped.
	bin := t.TempDir()
	script := "#!/bin/sh\nprintf '\\033]0;PWNED\\007\\033[2Jthe store is locked'\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-evil"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	de := newDockerEnv(t, `{"credsStore":"evil"}`)
	r = de.run("", []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")}, "cghistory", "--debug", "-q", "--no-trunc", s.Ref("chainguard/nginx", "")).ok(t)
	assertSafe(t, "the warning and the debug log", r.stderr, -1)
	if !strings.Contains(r.stderr, `\x1b]0;PWNED\a\x1b[2Jthe store is locked`) || !strings.Contains(r.stderr, "DEBU[http]") {
		t.Errorf("stderr lacks the escaped warning or the debug log:\n%s", r.stderr)
	}
}

func assertNoSecret(t *testing.T, r result, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s) {
			t.Errorf("secret %q leaked:\n%s\n%s", s, r.stdout, r.stderr)
		}
	}
}

func TestErrorsThroughDocker(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	s.Push(t, "chainguard/nginx", "latest", t0, "linux/amd64")
	plain := registrytest.New(t, registrytest.WithoutHistory())
	img := plain.Push(t, "library/alpine", "3.20", t0, "linux/amd64")
	d := newDockerEnv(t, "")
	d.docker("cghistory", s.Ref("chainguard/nginx", "nope")).fails(t, `tag "nope" not found`)
	d.docker("cghistory", s.Ref("chainguard/missing", "latest")).fails(t, "repository "+s.Host+"/chainguard/missing not found")
	r := d.docker("cghistory", "-q", plain.Ref("library/alpine", "3.20")).fails(t, "does not offer the tag history API", img.Digest.String())
	if strings.TrimSpace(r.stdout) != img.Digest.String() {
		t.Errorf("no history API: stdout = %q, want the current digest", r.stdout)
	}
	d.docker("cghistory", "127.0.0.1:1/chainguard/nginx").fails(t, "cannot reach registry 127.0.0.1:1")
	d.docker("cghistory", "--since", "yesterday", s.Ref("chainguard/nginx", "")).fails(t, "--since", "invalid time")
	d.docker("cghistory", "--platform", "amd64", s.Ref("chainguard/nginx", "")).fails(t, "os/arch")
	d.docker("cghistory", "Not A Ref!").fails(t, "invalid image reference")
	d.docker("cghistory", s.Ref("chainguard/nginx", "@sha256:"+strings.Repeat("a", 64))).fails(t, "history follows a tag")
	d.docker("cghistory").fails(t, "requires 1 argument")
	s.SetLatency(300 * time.Millisecond)
	d.docker("cghistory", "--timeout", "200ms", s.Ref("chainguard/nginx", "")).fails(t, "timed out after 200ms")
}

func TestCredentialHelperThroughDocker(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t, registrytest.WithUser("robot", "robot-secret-42"), registrytest.WithPublic("chainguard"))
	img := s.Push(t, "private/app", "v1", t0)
	ref := s.Ref("private/app", "v1")
	path := "PATH=" + helperDir + string(os.PathListSeparator) + os.Getenv("PATH")
	file := filepath.Join(t.TempDir(), ".dockerconfigjson")
	auth := base64.StdEncoding.EncodeToString([]byte("robot:robot-secret-42"))
	if err := os.WriteFile(file, []byte(fmt.Sprintf(`{"auths":{"http://%s":{"auth":%q}}}`, s.Host, auth)), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, config string
		env          []string
	}{
		{"credHelpers + variable", fmt.Sprintf(`{"credHelpers":{%q:"cghistory"}}`, s.Host), []string{registryVar(s.Host) + "=host=" + s.Host + " robot:robot-secret-42"}},
		{"credsStore + file", `{"credsStore":"cghistory"}`, []string{"CGHISTORY_AUTH_FILE=" + file}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newDockerEnv(t, tc.config)
			r := d.run("", append([]string{path}, tc.env...), "cghistory", "--debug", "-q", "--no-trunc", ref).ok(t)
			if strings.TrimSpace(r.stdout) != img.Digest.String() {
				t.Errorf("stdout = %q", r.stdout)
			}
			assertNoSecret(t, r, "robot-secret-42", auth)
			// Without the secret in the environment: anonymous, and denied.
			d.run("", []string{path}, "cghistory", ref).fails(t, "authentication required")
		})
	}
}

func registryVar(host string) string {
	return "CGHISTORY_AUTH_" + strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, strings.ToUpper(host))
}

func TestAuthThroughDocker(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t, registrytest.WithUser("ci", "ci-secret-77"), registrytest.WithPublic("chainguard"))
	s.Push(t, "private/app", "v1", t0, "linux/amd64")
	path := "PATH=" + helperDir + string(os.PathListSeparator) + os.Getenv("PATH")
	d := newDockerEnv(t, fmt.Sprintf(`{"credHelpers":{%q:"cghistory"}}`, s.Host))
	ref := s.Ref("private/app", "v1")
	r := d.run("", []string{path}, "cghistory", "auth", ref).fails(t)
	if !strings.Contains(r.stdout, "anonymous") || !strings.Contains(r.stdout, "denied") {
		t.Errorf("anonymous auth report:\n%s", r.stdout)
	}
	r = d.run("", []string{path, registryVar(s.Host) + "=host=" + s.Host + " ci:ci-secret-77"}, "cghistory", "auth", "--debug", ref).ok(t)
	if !strings.Contains(r.stdout, "credHelpers:cghistory") || !strings.Contains(r.stdout, "pull granted") || !strings.Contains(r.stdout, " ci ") {
		t.Errorf("auth report:\n%s", r.stdout)
	}
	assertNoSecret(t, r, "ci-secret-77")
}

func TestPinThroughDocker(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	img := s.Push(t, "chainguard/nginx", "latest", t0)
	frontend := s.Push(t, "docker/dockerfile", "1", t0)
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	orig := "# syntax=" + s.Ref("docker/dockerfile", "1") + "\r\nFROM " + s.Ref("chainguard/nginx", "latest") + "\r\nRUN <<EOF\r\nFROM not-an-image\r\nEOF\r\n"
	if err := os.WriteFile(df, []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	d := newDockerEnv(t, "")
	r := d.docker("cgpin", "--check", dir).fails(t, "2 references are not pinned")
	if !strings.Contains(r.stdout, df+":1") || !strings.Contains(r.stdout, df+":2") {
		t.Errorf("--check stdout = %q", r.stdout)
	}
	r = d.docker("cgpin", "--diff", df).ok(t)
	if !strings.Contains(r.stdout, "+FROM "+s.Ref("chainguard/nginx", "latest")+"@"+img.Digest.String()) {
		t.Errorf("--diff = %q", r.stdout)
	}
	d.docker("cgpin", dir).ok(t)
	want := strings.Replace(orig, ":latest\r\n", ":latest@"+img.Digest.String()+"\r\n", 1)
	want = strings.Replace(want, "/docker/dockerfile:1\r\n", "/docker/dockerfile:1@"+frontend.Digest.String()+"\r\n", 1)
	if got, _ := os.ReadFile(df); string(got) != want {
		t.Errorf("pinned file = %q, want %q", got, want)
	}
	d.docker("cgpin", "--check", dir).ok(t)
	d.docker("cgpin", "--at", "2000-01-01", dir).fails(t, "had no build at or before 2000-01-01")
	if got, _ := os.ReadFile(df); string(got) != want {
		t.Error("a failed run changed the file")
	}
}

func TestDiffThroughDocker(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	db := func(ver string) registrytest.Layer {
		return registrytest.Layer{"etc/os-release": "ID=wolfi\n", "lib/apk/db/installed": "P:libssl3\nV:" + ver + "\nA:x86_64\no:openssl\n\n"}
	}
	s.PushLayers(t, "chainguard/app", "latest", t0, "linux/amd64", db("3.4.0-r0"))
	s.PushLayers(t, "chainguard/app", "latest", t0.Add(time.Hour), "linux/amd64", db("3.4.0-r1"))
	sec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"packages":[{"pkg":{"name":"openssl","secfixes":{"3.4.0-r1":["CVE-2024-0001"]}}}]}`))
	}))
	defer sec.Close()
	d := newDockerEnv(t, "")
	env := []string{"CGHISTORY_SECDB=" + sec.URL, "CGHISTORY_NAMESPACE=" + s.Host + "/chainguard"}
	r := d.run("", env, "cgdiff", "--platform", "linux/amd64", "app").ok(t)
	if !strings.Contains(r.stdout, "~ libssl3  3.4.0-r0 → 3.4.0-r1  fixes CVE-2024-0001") || strings.Contains(r.stdout, "\x1b[") {
		t.Errorf("table:\n%s", r.stdout)
	}
	r = d.run("", env, "cgdiff", "--platform", "linux/amd64", "--format", "json", "--exit-code", "app~1", "app")
	if r.code != 1 || !strings.Contains(r.stdout, `"CVE-2024-0001"`) || !strings.Contains(r.stderr, "the images differ") {
		t.Errorf("--exit-code: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = d.run("", env, "cgdiff", "--platform", "linux/s390x", "app")
	if r.code != 2 || !strings.Contains(r.stderr, "has no linux/s390x image") {
		t.Errorf("error exit: %d %s", r.code, r.stderr)
	}
}

func TestPinEveryKindThroughDocker(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	goImg := s.Push(t, "chainguard/go", "latest", t0, "linux/amd64")
	nginx := s.Push(t, "chainguard/nginx", "latest", t0)
	g, n := s.Ref("chainguard/go", "latest"), s.Ref("chainguard/nginx", "latest")
	dir := t.TempDir()
	files := map[string]string{
		"svc/Dockerfile":            "FROM " + g + "\n",
		"svc/compose.yaml":          "services:\n  web:\n    image: '" + n + "'\n  app:\n    build: .\n    image: acme/app\n",
		"k8s/app.yaml":              "apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: a, image: " + g + "}]\n",
		"k8s/kustomization.yaml":    "images:\n  - name: nginx\n    newName: " + s.Ref("chainguard/nginx", "") + "\n    newTag: latest\n",
		".github/workflows/ci.yaml": "jobs:\n  t:\n    container:\n      image: " + g + "\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d := newDockerEnv(t, "")
	r := d.docker("cgpin", "--check", dir).fails(t, "5 references are not pinned")
	for name := range files {
		if !strings.Contains(r.stdout, filepath.Join(dir, name)+":") {
			t.Errorf("--check does not list %s:\n%s", name, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "acme/app: left alone: service app builds this image (build:)") {
		t.Errorf("--check stderr lacks the Compose build note:\n%s", r.stderr)
	}
	r = d.docker("cgpin", "--kind", "compose,kustomize", "--format", "json", dir).ok(t)
	var kinds []string
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var c map[string]any
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("%v: %q", err, line)
		}
		if c["Skipped"] == true { // what was left alone follows the changes
			kinds = append(kinds, "skipped/"+c["Old"].(string))
			continue
		}
		kinds = append(kinds, c["FileKind"].(string)+"/"+c["Kind"].(string))
	}
	slices.Sort(kinds)
	if strings.Join(kinds, " ") != "compose/services.*.image kustomize/kustomize images skipped/acme/app" {
		t.Errorf("kinds = %v", kinds)
	}
	d.docker("cgpin", dir).ok(t)
	want := map[string]string{
		"svc/Dockerfile":            "FROM " + g + "@" + goImg.Digest.String() + "\n",
		"svc/compose.yaml":          "services:\n  web:\n    image: '" + n + "@" + nginx.Digest.String() + "'\n  app:\n    build: .\n    image: acme/app\n",
		"k8s/app.yaml":              "apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: a, image: " + g + "@" + goImg.Digest.String() + "}]\n",
		"k8s/kustomization.yaml":    files["k8s/kustomization.yaml"] + "    digest: " + nginx.Digest.String() + "\n",
		".github/workflows/ci.yaml": "jobs:\n  t:\n    container:\n      image: " + g + "@" + goImg.Digest.String() + "\n",
	}
	for name, w := range want {
		if got, _ := os.ReadFile(filepath.Join(dir, name)); string(got) != w {
			t.Errorf("%s = %q, want %q", name, got, w)
		}
	}
	d.docker("cgpin", "--check", dir).ok(t)
}

func TestUpdatePoliciesThroughDocker(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	layer := func(ver string) registrytest.Layer {
		return registrytest.Layer{"etc/os-release": "ID=wolfi\n", "lib/apk/db/installed": "P:libssl3\nV:" + ver + "\nA:x86_64\no:openssl\n\n"}
	}
	day := 24 * time.Hour
	now := time.Now().UTC()
	b1 := s.PushLayers(t, "chainguard/app", "latest", now.Add(-5*day), "linux/amd64", layer("3.4.0-r0"))
	b2 := s.PushLayers(t, "chainguard/app", "latest", now.Add(-4*day), "linux/amd64", layer("3.4.0-r0")) // a no-op rebuild
	b3 := s.PushLayers(t, "chainguard/app", "latest", now.Add(-1*day), "linux/amd64", layer("3.4.0-r1"))
	sec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"packages":[{"pkg":{"name":"openssl","secfixes":{"3.4.0-r1":["CVE-2024-0001"]}}}]}`))
	}))
	defer sec.Close()
	ref := s.Ref("chainguard/app", "latest")
	dir := t.TempDir()
	compose := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(compose, []byte("services:\n  app:\n    image: "+ref+"@"+b1.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".cgpin.yaml"), []byte("only-if-changed: vulns\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := newDockerEnv(t, "")
	env := []string{"CGHISTORY_SECDB=" + sec.URL}
	r := d.run("", env, "cgpin", "--outdated", "--format", "{{.Location}} {{.Behind}} {{.Fixed}}", dir).ok(t)
	if !strings.Contains(r.stdout, compose+":3 2 CVE-2024-0001") {
		t.Errorf("--outdated = %q", r.stdout)
	}
	r = d.run("", env, "cgpin", "--show-config", dir).ok(t)
	if !regexp.MustCompile(`only-if-changed +vulns +\S*\.cgpin\.yaml:1`).MatchString(r.stdout) {
		t.Errorf("--show-config:\n%s", r.stdout)
	}
	// --at the no-op rebuild: vulns policy holds; the current build moves.
	r = d.run("", env, "cgpin", "--at", now.Add(-3*day).Format(time.RFC3339), dir).ok(t)
	if !strings.Contains(r.stderr, "not moved: newer build fixes no CVE") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	d.run("", env, "cgpin", dir).ok(t)
	if got, _ := os.ReadFile(compose); !strings.Contains(string(got), b3.String()) {
		t.Errorf("compose = %q, want %s (not %s)", got, b3, b2)
	}
	d.run("", env, "cgpin", "--outdated", "--exit-code", dir).ok(t)
}
