package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
)

func writeFile(t *testing.T, path, content string, mode os.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
	return path
}

func fileIs(t *testing.T, path, want string) {
	t.Helper()
	if got, err := os.ReadFile(path); err != nil || string(got) != want {
		t.Errorf("%s = %q (%v), want %q", path, got, err, want)
	}
}

// cgpin edits only the files it was given, in place: a symlink that leads
// out of them, a file with other hard links and a file too big to read are
// left alone with a reason; the mode is kept; a killed run's temporary
// files are removed.
func TestPinLeavesOtherFilesAlone(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	img := s.Push(t, "chainguard/go", "latest", t0)
	ref := s.Ref("chainguard/go", "latest")
	repo, other := filepath.Join(t.TempDir(), "repo"), t.TempDir()
	unpinned := "FROM " + ref + "\n"
	pinned := "FROM " + ref + "@" + img.Digest.String() + "\n"

	df := writeFile(t, filepath.Join(repo, "Dockerfile"), unpinned, 0o640)
	theirs := writeFile(t, filepath.Join(other, "Dockerfile"), unpinned, 0o644)
	if err := os.Symlink(theirs, filepath.Join(repo, "link.Dockerfile")); err != nil {
		t.Fatal(err)
	}
	linked := writeFile(t, filepath.Join(repo, "hard", "Dockerfile"), unpinned, 0o644)
	if err := os.Link(linked, filepath.Join(other, "hard-link")); err != nil {
		t.Fatal(err)
	}
	bigCompose := "services:\n  app:\n    image: " + ref + "\n" + strings.Repeat("# padding to 2 MiB and beyond\n", 80_000)
	big := writeFile(t, filepath.Join(repo, "big", "compose.yaml"), bigCompose, 0o644)
	stale := writeFile(t, filepath.Join(repo, ".Dockerfile.cgpin-2718281828"), "FROM half-written\n", 0o640)
	notOurs := writeFile(t, filepath.Join(repo, ".Dockerfile.cgpin-notes"), "mine\n", 0o644)

	d := newDockerEnv(t, "")
	r := d.docker("cgpin", repo).ok(t)
	for _, want := range []string{
		filepath.Join(repo, "link.Dockerfile") + ": left alone: a symlink to " + theirs + ", outside the paths given",
		linked + ": left alone: has 2 hard links; rewriting it would break them",
		big + ": left alone: 2.289MiB, larger than the 2MiB cgpin reads", // 2,400,000 bytes and a few
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	fileIs(t, df, pinned)
	if fi, err := os.Stat(df); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode of the pinned file: %v %v", fi.Mode(), err)
	}
	fileIs(t, theirs, unpinned)
	fileIs(t, linked, unpinned)
	fileIs(t, big, bigCompose)
	if _, err := os.Lstat(stale); !os.IsNotExist(err) {
		t.Errorf("the killed run's temporary file is still there: %v", err)
	}
	fileIs(t, notOurs, "mine\n")

	// Named, the file too big to read is an error; a hook passes it over.
	d.docker("cgpin", "--check", big).fails(t, big+": 2.289MiB, larger than the 2MiB cgpin reads")
	d.docker("cgpin", "--check", "--skip-unknown", big, df).ok(t)
	// A tree deeper than the walk goes is an error naming the limit.
	top := t.TempDir()
	writeFile(t, filepath.Join(top, strings.Repeat("d/", 65), "Dockerfile"), unpinned, 0o644)
	d.docker("cgpin", "--check", top).fails(t, "more than 64 directories deep below "+top+", the deepest cgpin walks")
}

// A file the user may not write is not replaced, as root (the mode bits)
// and as another user (who could rename over it in a directory of theirs):
// the run fails naming it and writes nothing.
func TestPinRefusesReadOnlyFiles(t *testing.T) {
	t.Parallel()
	s := registrytest.New(t)
	img := s.Push(t, "chainguard/go", "latest", t0)
	ref := s.Ref("chainguard/go", "latest")
	unpinned := "FROM " + ref + "\n"
	pinned := "FROM " + ref + "@" + img.Digest.String() + "\n"

	repo := t.TempDir()
	ok := writeFile(t, filepath.Join(repo, "a", "Dockerfile"), unpinned, 0o644)
	ro := writeFile(t, filepath.Join(repo, "b", "Dockerfile"), unpinned, 0o444)
	d := newDockerEnv(t, "")
	d.docker("cgpin", repo).fails(t, ro+": not writable (mode 0444)")
	fileIs(t, ok, unpinned)
	fileIs(t, ro, unpinned)

	t.Run("nobody", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("not root: cannot run the plugin as another user here")
		}
		const uid, gid = 65534, 65534 // nobody, nogroup
		// A world-readable tree, outside t.TempDir's 0700 directories.
		base, err := os.MkdirTemp("", "cgpin-nobody-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(base) })
		if err := os.Chmod(base, 0o755); err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(base, "bin", "docker-cghistory")
		copyFile(t, pluginBinary, bin, 0o755)
		cfg := filepath.Join(base, "docker-config")
		if err := os.MkdirAll(filepath.Join(cfg, "cli-plugins"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(bin, filepath.Join(cfg, "cli-plugins", "docker-cgpin")); err != nil {
			t.Fatal(err)
		}
		home := filepath.Join(base, "home")
		repo := filepath.Join(base, "repo")
		mine := writeFile(t, filepath.Join(repo, "mine", "Dockerfile"), unpinned, 0o644)
		readOnly := writeFile(t, filepath.Join(repo, "ro", "Dockerfile"), unpinned, 0o444)
		rootsFile := writeFile(t, filepath.Join(repo, "roots", "Dockerfile"), unpinned, 0o644)
		if err := os.MkdirAll(home, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{home, repo, filepath.Dir(mine), mine, filepath.Dir(readOnly), readOnly, filepath.Dir(rootsFile)} {
			if err := os.Chown(p, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
		nobody := func(args ...string) result {
			t.Helper()
			cmd := exec.Command("docker", args...)
			cmd.Env = append(append([]string(nil), d.env...), "DOCKER_CONFIG="+cfg, "HOME="+home,
				"CGHISTORY_CACHE_DIR="+filepath.Join(home, "cache"))
			cmd.Dir = home
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			var ee *exec.ExitError
			switch {
			case err == nil:
				return result{out.String(), errb.String(), 0}
			case errors.As(err, &ee):
				return result{out.String(), errb.String(), ee.ExitCode()}
			}
			t.Skipf("cannot run docker as nobody here: %v", err)
			return result{}
		}
		// The user's own writable file: pinned.
		nobody("cgpin", filepath.Dir(mine)).ok(t)
		fileIs(t, mine, pinned)
		// Their read-only file, and root's file in their directory.
		nobody("cgpin", filepath.Dir(readOnly)).fails(t, readOnly+": not writable (mode 0444)")
		nobody("cgpin", filepath.Dir(rootsFile)).fails(t, rootsFile+": not writable (mode 0644)")
		fileIs(t, readOnly, unpinned)
		fileIs(t, rootsFile, unpinned)
		if fi, err := os.Stat(rootsFile); err != nil || fi.Sys().(*syscall.Stat_t).Uid != 0 {
			t.Errorf("root's file was replaced: %v", err)
		}
	})
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// --timeout holds while files are parsed: a file that takes seconds to
// parse (the densest YAML under the size limit) ends the run at the
// deadline, naming the file.
func TestPinTimeoutHoldsWhileParsing(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: List\nitems: [")
	for b.Len() < 2<<20-16 {
		b.WriteString("a,")
	}
	b.WriteString("a]\n")
	dense := writeFile(t, filepath.Join(t.TempDir(), "dense.yaml"), b.String(), 0o644)
	d := newDockerEnv(t, "")
	start := time.Now()
	d.docker("cgpin", "--check", "--timeout", "500ms", dense).fails(t, "timed out after 500ms", dense+": not read when the run ended")
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the run took %s with --timeout 500ms", took)
	}
}
