package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
)

// TestPreCommitHooks runs this repository's hooks with the real pre-commit,
// which builds the module as its golang language does. The three runs share
// one pre-commit store, so the module is built once: pre-commit try-repo
// would build it in a new store every time. As try-repo does, uncommitted
// changes to tracked files are committed in a shadow clone first. In make
// test-long: building the module is most of its time.
func TestPreCommitHooks(t *testing.T) {
	t.Parallel()
	longTest(t, "pre-commit builds the module")
	preCommit, err := exec.LookPath("pre-commit")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("pre-commit is not installed; .ci/run should have installed it")
		}
		t.Skip("pre-commit is not installed")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	s := registrytest.New(t)
	img := s.Push(t, "chainguard/go", "latest", t0, "linux/amd64")
	ref := s.Ref("chainguard/go", "latest")

	work := t.TempDir()
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-c", "user.email=t@example.com", "-c", "user.name=t"}, args...)...)
		cmd.Dir = work
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	files := map[string]string{
		"Dockerfile":   "FROM " + ref + "\n",
		"compose.yaml": "services:\n  app:\n    image: " + ref + "\n",
		"config.yaml":  "log: {level: info}\n", // a YAML file of no kind: passed over
		"README.md":    "not matched by the hooks\n",
		// Kinds of the second round: HCL, a Quadlet unit, a marked line;
		// a Go file with no marker is passed over.
		"infra/main.tf": "resource \"docker_container\" \"a\" {\n  image = \"" + ref + "\"\n}\n",
		"web.container": "[Container]\nImage=" + ref + "\n",
		"Makefile":      "GO := " + ref + " # cgpin: image\n",
		"tools/x.go":    "package tools\n",
	}
	for name, content := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(work, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("add", ".")
	gomodcache, _ := exec.Command("go", "env", "GOMODCACHE").Output()
	env := append(os.Environ(), "PRE_COMMIT_HOME="+filepath.Join(t.TempDir(), "pre-commit"), "DOCKER_CONFIG="+t.TempDir(),
		"CGHISTORY_CACHE_DIR="+t.TempDir(), "GOMODCACHE="+strings.TrimSpace(string(gomodcache)), "GOFLAGS=-buildvcs=false -trimpath -ldflags=-w", "NO_COLOR=1")
	repo, rev := hookRepo(t, root)
	config := filepath.Join(t.TempDir(), ".pre-commit-config.yaml")
	if err := os.WriteFile(config, []byte("repos:\n- repo: "+repo+"\n  rev: "+rev+"\n  hooks:\n  - id: cgpin-check\n  - id: cgpin\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runHook := func(hook string) (string, error) {
		cmd := exec.Command(preCommit, "run", "--config", config, hook, "--all-files", "--verbose")
		cmd.Dir, cmd.Env = work, env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := runHook("cgpin-check")
	if err == nil || !strings.Contains(out, "Dockerfile:1  "+ref) || !strings.Contains(out, "compose.yaml:3  "+ref) ||
		!strings.Contains(out, "main.tf:2  "+ref) || !strings.Contains(out, "web.container:2  "+ref) || !strings.Contains(out, "Makefile:1  "+ref) {
		t.Fatalf("cgpin-check should fail listing both references: %v\n%s", err, out)
	}
	out, err = runHook("cgpin")
	if err == nil || !strings.Contains(out, "files were modified by this hook") {
		t.Fatalf("cgpin should pin and say so: %v\n%s", err, out)
	}
	for _, name := range []string{"Dockerfile", "compose.yaml", "infra/main.tf", "web.container", "Makefile"} {
		got, _ := os.ReadFile(filepath.Join(work, name))
		if !strings.Contains(string(got), ref+"@"+img.Digest.String()) {
			t.Errorf("%s = %q", name, got)
		}
	}
	git("add", ".")
	if out, err := runHook("cgpin-check"); err != nil {
		t.Fatalf("cgpin-check after pinning: %v\n%s", err, out)
	}
}

// hookRepo is the repository and revision pre-commit should install the
// hooks from: root at HEAD, or, when tracked files have uncommitted changes,
// a shadow clone with those changes committed (what pre-commit try-repo
// does, but in a directory that outlives one pre-commit run).
func hookRepo(t *testing.T, root string) (string, string) {
	t.Helper()
	git := func(dir string, env []string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.email=t@example.com", "-c", "user.name=t", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %v in %s: %v", args, dir, err)
		}
		return strings.TrimSpace(string(out))
	}
	head := git(root, nil, "rev-parse", "HEAD")
	if exec.Command("git", "-C", root, "diff", "--quiet", "HEAD").Run() == nil {
		return root, head
	}
	shadow := filepath.Join(t.TempDir(), "shadow")
	git(root, nil, "clone", "-q", root, shadow)
	git(shadow, nil, "checkout", "-q", head, "-b", "_pc_tmp")
	// Stage the work tree's tracked changes into the shadow's index and
	// object store, as try-repo does.
	index, objects := git(shadow, nil, "rev-parse", "--path-format=absolute", "--git-path", "index"), git(shadow, nil, "rev-parse", "--path-format=absolute", "--git-path", "objects")
	shadowEnv := []string{"GIT_INDEX_FILE=" + index, "GIT_OBJECT_DIRECTORY=" + objects}
	if staged := git(root, nil, "diff", "--cached", "--name-only", "--diff-filter=A"); staged != "" {
		git(root, shadowEnv, append([]string{"add", "--"}, strings.Split(staged, "\n")...)...)
	}
	git(root, shadowEnv, "add", "-u")
	git(shadow, nil, "commit", "-q", "--no-verify", "-m", "uncommitted changes")
	return shadow, git(shadow, nil, "rev-parse", "HEAD")
}
