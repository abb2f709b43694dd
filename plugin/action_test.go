package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

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

// TestGitHubAction runs the action's script as the runner would: inputs in
// INPUT_* variables, outputs and summary in the runner's files.
func TestGitHubAction(t *testing.T) {
	s := registrytest.New(t)
	img := s.Push(t, "chainguard/go", "latest", t0, "linux/amd64")
	ref := s.Ref("chainguard/go", "latest")
	d := newDockerEnv(t, "")
	work := t.TempDir()
	compose := filepath.Join(work, "deploy", "compose.yaml")
	if err := os.MkdirAll(filepath.Dir(compose), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(compose, []byte("services:\n  app:\n    image: "+ref+"\n  skip:\n    image: "+s.Ref("other/x", "1")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(mode string) (map[string]string, string, error) {
		temp := t.TempDir()
		outputs, summary := filepath.Join(temp, "output"), filepath.Join(temp, "summary")
		cmd := exec.Command("../scripts/action.sh")
		cmd.Env = append(d.env, "RUNNER_TEMP="+temp, "GITHUB_OUTPUT="+outputs, "GITHUB_STEP_SUMMARY="+summary,
			"INPUT_PATHS="+filepath.Dir(compose), "INPUT_MODE="+mode, "INPUT_IGNORE_IMAGES=*/other/* $(touch "+filepath.Join(work, "pwned")+")")
		out, err := cmd.CombinedOutput()
		sum, _ := os.ReadFile(summary)
		t.Logf("%s mode:\n%s", mode, out)
		return githubOutputs(t, outputs), string(sum), err
	}
	o, summary, err := run("check")
	if err == nil {
		t.Error("check mode passed with an unpinned reference")
	}
	if o["changed"] != "true" || !strings.Contains(o["json"], `"Old":"`+ref+`"`) || !strings.Contains(summary, "| `"+compose+":3` | `"+ref+"`") {
		t.Errorf("check outputs %v\nsummary:\n%s", o, summary)
	}
	if got, _ := os.ReadFile(compose); strings.Contains(string(got), "@sha256") {
		t.Error("check mode wrote the file")
	}
	o, summary, err = run("update")
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if got, _ := os.ReadFile(compose); !strings.Contains(string(got), ref+"@"+img.Digest.String()) {
		t.Errorf("update did not pin: %q", got)
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
