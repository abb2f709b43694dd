package main

import (
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
)

// githubOutputs parses a $GITHUB_OUTPUT file (name=value and
// name<<DELIMITER … DELIMITER entries).
func githubOutputs(t *testing.T, path string) map[string]string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		if name, delim, ok := strings.Cut(lines[i], "<<"); ok {
			var value []string
			for i++; i < len(lines) && lines[i] != delim; i++ {
				value = append(value, lines[i])
			}
			out[name] = strings.Join(value, "\n")
		} else if name, value, ok := strings.Cut(lines[i], "="); ok {
			out[name] = value
		}
	}
	return out
}

// runAction runs the action's script as the runner would: inputs in INPUT_*
// variables (name=value), outputs and summary in the runner's files.
func runAction(t *testing.T, env []string, inputs ...string) (map[string]string, string, error) {
	t.Helper()
	temp := t.TempDir()
	outputs, summary := filepath.Join(temp, "output"), filepath.Join(temp, "summary")
	cmd := exec.Command("../scripts/action.sh")
	cmd.Env = append(append(append([]string{}, env...), "RUNNER_TEMP="+temp, "GITHUB_OUTPUT="+outputs, "GITHUB_STEP_SUMMARY="+summary), inputs...)
	out, err := cmd.CombinedOutput()
	sum, _ := os.ReadFile(summary)
	t.Logf("%v:\n%s", inputs, out)
	if _, serr := os.Stat(outputs); serr != nil {
		return nil, string(sum) + string(out), err
	}
	return githubOutputs(t, outputs), string(sum), err
}

// TestGitHubAction runs the action's script as the runner would: inputs in
// INPUT_* variables, outputs and summary in the runner's files. Paths are
// given one per line, and hold spaces.
func TestGitHubAction(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	img := s.Push(t, "chainguard/go", "latest", t0, "linux/amd64")
	ref := s.Ref("chainguard/go", "latest")
	d := newDockerEnv(t, "")
	work := t.TempDir()
	compose := filepath.Join(work, "deploy dir", "compose.yaml")
	other := filepath.Join(work, "other dir", "Dockerfile")
	for _, f := range []string{compose, other} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(compose, []byte("services:\n  app:\n    image: "+ref+"\n  skip:\n    image: "+s.Ref("other/x", "1")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, []byte("FROM "+ref+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(mode string) (map[string]string, string, error) {
		return runAction(t, d.env, "INPUT_PATHS="+filepath.Dir(compose)+"\n  "+other+"  \n\n", "INPUT_MODE="+mode,
			"INPUT_IGNORE_IMAGES=*/other/* $(touch "+filepath.Join(work, "pwned")+")")
	}
	o, summary, err := run("check")
	if err == nil {
		t.Error("check mode passed with an unpinned reference")
	}
	if o["changed"] != "true" || !strings.Contains(o["json"], `"Old":"`+ref+`"`) || !strings.Contains(summary, "| `"+compose+":3` | `"+ref+"`") ||
		!strings.Contains(summary, "| `"+other+":1` | `"+ref+"`") {
		t.Errorf("check outputs %v\nsummary:\n%s", o, summary)
	}
	if got, _ := os.ReadFile(compose); strings.Contains(string(got), "@sha256") {
		t.Error("check mode wrote the file")
	}
	o, summary, err = run("update")
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	for _, f := range []string{compose, other} {
		if got, _ := os.ReadFile(f); !strings.Contains(string(got), ref+"@"+img.Digest.String()) {
			t.Errorf("update did not pin %s: %q", f, got)
		}
	}
	if o["changed"] != "true" || !regexp.MustCompile(`Base image updates`).MatchString(o["markdown"]) || !strings.Contains(summary, "newly pinned") {
		t.Errorf("update outputs %v\nsummary:\n%s", o, summary)
	}
	o, summary, err = run("check")
	if err != nil || o["changed"] != "false" || !strings.Contains(summary, "every image reference is pinned") {
		t.Errorf("check after update: %v %v\n%s", err, o, summary)
	}
	if _, err := os.Stat(filepath.Join(work, "pwned")); err == nil {
		t.Error("an input was run as a command")
	}
}

// TestGitHubActionOneRun: the tag moves while the action runs (the registry
// answers the tag with one build first and another afterwards). The
// pull-request body names the digest written to the file: both come from
// one cgpin run (two runs used to resolve the tag twice).
func TestGitHubActionOneRun(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	first := s.Push(t, "chainguard/go", "latest", t0, "linux/amd64")
	second := s.Push(t, "chainguard/go", "latest", t0.Add(time.Hour), "linux/amd64")
	var calls atomic.Int32
	s.Override(`^/v2/chainguard/go/manifests/latest$`, func(w http.ResponseWriter, r *http.Request) {
		d := second.Digest
		if calls.Add(1) == 1 {
			d = first.Digest
		}
		http.Redirect(w, r, "/v2/chainguard/go/manifests/"+d.String(), http.StatusTemporaryRedirect)
	})
	ref := s.Ref("chainguard/go", "latest")
	d := newDockerEnv(t, "")
	df := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(df, []byte("FROM "+ref+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o, _, err := runAction(t, d.env, "INPUT_PATHS="+df, "INPUT_MODE=update")
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	got, _ := os.ReadFile(df)
	written := regexp.MustCompile(`@(sha256:[0-9a-f]{12})`).FindStringSubmatch(string(got))
	if written == nil {
		t.Fatalf("not pinned: %q", got)
	}
	if !strings.Contains(o["markdown"], "`"+written[1]+"`") || !strings.Contains(o["json"], written[1]) {
		t.Errorf("the file is pinned to %s, the outputs say otherwise:\njson: %s\nmarkdown:\n%s", written[1], o["json"], o["markdown"])
	}
}

// TestGitHubActionFreshRunner runs the action where docker has no cgpin
// plugin (an empty DOCKER_CONFIG): "docker cgpin --help" exits 0 there too
// (docker prints its own help), which the action took for an installed
// plugin, so every run failed with "unknown flag: --check". It installs the
// plugin (with make, from this repository) and checks. In make test-long:
// make install builds the module.
func TestGitHubActionFreshRunner(t *testing.T) {
	t.Parallel()
	longTest(t, "the action runs make install, which builds the module")
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	s := registrytest.New(t)
	s.Push(t, "chainguard/go", "latest", t0, "linux/amd64")
	ref := s.Ref("chainguard/go", "latest")
	d := newDockerEnv(t, "")
	if err := os.RemoveAll(filepath.Join(d.config, "cli-plugins")); err != nil {
		t.Fatal(err)
	}
	df := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(df, []byte("FROM "+ref+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o, summary, err := runAction(t, d.env, "INPUT_PATHS="+df, "INPUT_MODE=check")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("check on a fresh runner: %v, want exit 1 (a reference is unpinned)", err)
	}
	if o["changed"] != "true" || !strings.Contains(summary, "| `"+df+":1` | `"+ref+"`") {
		t.Errorf("check outputs %v\nsummary:\n%s", o, summary)
	}
	if _, err := os.Stat(filepath.Join(d.config, "cli-plugins", "docker-cgpin")); err != nil {
		t.Errorf("the plugin was not installed: %v", err)
	}
}

// TestInstallScript: install.sh says "ready" only when docker lists the
// three commands as working plugins; a binary that is no docker plugin
// (here a script that exits 0 for anything, as "docker cghistory --help"
// does when cghistory is no command) gets a warning instead.
func TestInstallScript(t *testing.T) {
	t.Parallel()
	d := newDockerEnv(t, "")
	for _, tc := range []struct {
		name   string
		binary func(path string) error
		ready  bool
	}{
		{"the plugin", func(path string) error {
			for _, n := range []string{"docker-cghistory", "cghistory-hot", "cghistory-full"} {
				b, err := os.ReadFile(filepath.Join(filepath.Dir(frontBinary), n))
				if err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(filepath.Dir(path), n), b, 0o755); err != nil {
					return err
				}
			}
			return nil
		}, true},
		{"not a plugin", func(path string) error {
			for _, n := range []string{"docker-cghistory", "cghistory-hot", "cghistory-full"} {
				if err := os.WriteFile(filepath.Join(filepath.Dir(path), n), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
					return err
				}
			}
			return nil
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin, cfg := t.TempDir(), t.TempDir()
			if err := tc.binary(filepath.Join(bin, "docker-cghistory")); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("../scripts/install.sh")
			cmd.Env = append(append([]string{}, d.env...), "BIN="+bin, "DOCKER_CONFIG="+cfg, "BINDIR="+filepath.Join(cfg, "bin"))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("install.sh: %v\n%s", err, out)
			}
			if ready := strings.Contains(string(out), "is ready"); ready != tc.ready {
				t.Errorf("ready: %v, want %v:\n%s", ready, tc.ready, out)
			}
			if !tc.ready && !strings.Contains(string(out), "warning: docker does not list docker cghistory docker cgdiff docker cgpin") {
				t.Errorf("no warning:\n%s", out)
			}
		})
	}
}

// TestGitHubActionMarkdownIsInert: file names are untrusted text; in the
// pull-request body each stays inside its code span and table cell, with
// control characters shown escaped.
func TestGitHubActionMarkdownIsInert(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	s.Push(t, "chainguard/go", "latest", t0, "linux/amd64")
	d := newDockerEnv(t, "")
	dir := filepath.Join(t.TempDir(), "x``|<img src=x>[a](javascript:x)\x1b]0;PWNED\a\x1b[2J")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+s.Ref("chainguard/go", "latest")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o, summary, _ := runAction(t, d.env, "INPUT_PATHS="+dir, "INPUT_MODE=check")
	rows := strings.Split(strings.TrimSpace(o["markdown"]), "\n")
	if len(rows) != 5 || strings.ContainsAny(o["markdown"], "\x1b\a") || !strings.Contains(summary, `\u001b]0;PWNED\u0007`) {
		t.Fatalf("markdown:\n%s", o["markdown"])
	}
	// The row: five unescaped pipes, and the file name in a code span
	// fenced by more backticks than it holds.
	row := rows[4]
	if n := len(regexp.MustCompile(`(^|[^\\])\|`).FindAllString(row, -1)); n != 5 {
		t.Errorf("%d cell borders in %q", n, row)
	}
	if !strings.HasPrefix(row, "| ``` ") {
		t.Errorf("row %q", row)
	}
}

// TestGitHubActionContainerJob: a container job runs as root on a
// workspace the runner's user owns. The action trusts the workspace's
// .cgpin.yaml there, as actions/checkout trusts it for git; without that
// (set-safe-directory: false) cgpin refuses the file as another user's.
func TestGitHubActionContainerJob(t *testing.T) {
	t.Parallel()
	if os.Getuid() != 0 {
		t.Skip("a workspace another user owns needs root")
	}
	s := registrytest.New(t)
	s.Push(t, "chainguard/go", "latest", t0, "linux/amd64")
	ref := s.Ref("chainguard/go", "latest")
	d := newDockerEnv(t, "")
	work := filepath.Join(t.TempDir(), "workspace")
	if err := os.MkdirAll(filepath.Join(work, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"Dockerfile": "FROM " + ref + "\n", ".cgpin.yaml": "kinds: [dockerfile]\n"} {
		if err := os.WriteFile(filepath.Join(work, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const runner = 1001 // the runner's user on GitHub's hosted runners
	if err := os.Chown(work, runner, runner); err != nil {
		t.Fatal(err)
	}
	inputs := []string{"GITHUB_WORKSPACE=" + work, "INPUT_PATHS=" + work, "INPUT_MODE=check"}
	o, summary, err := runAction(t, d.env, inputs...) // set-safe-directory defaults to true
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || o["changed"] != "true" ||
		!strings.Contains(summary, "| `"+filepath.Join(work, "Dockerfile")+":1` | `"+ref+"`") {
		t.Errorf("check in a workspace the runner owns: %v, outputs %v, want exit 1 (a reference is unpinned)\nsummary:\n%s", err, o, summary)
	}

	cmd := exec.Command("../scripts/action.sh")
	temp := t.TempDir()
	cmd.Env = append(append(append([]string{}, d.env...), "RUNNER_TEMP="+temp, "GITHUB_OUTPUT="+filepath.Join(temp, "output")),
		append(inputs, "INPUT_SET_SAFE_DIRECTORY=false")...)
	out, err := cmd.CombinedOutput()
	if !errors.As(err, &exit) || !strings.Contains(string(out), ".cgpin.yaml: refused: its directory "+work+" is owned by another user (uid 1001)") {
		t.Errorf("set-safe-directory false: %v, want cgpin to refuse the policy file:\n%s", err, out)
	}
}
