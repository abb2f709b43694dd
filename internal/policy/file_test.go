//go:build unix

package policy_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/policy"
	"gotest.tools/v3/assert"
)

const secret = "dckr_pat_7Hq2SECRETxYz"

// newRepo is a repository (with .git) in a fresh directory, beside a
// directory "outside" holding a secret.
func newRepo(t *testing.T) (repo, outside string) {
	base := t.TempDir()
	repo, outside = filepath.Join(base, "repo"), filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(repo, ".git"), filepath.Join(repo, "keys"), filepath.Join(repo, "deploy"), outside} {
		assert.NilError(t, os.MkdirAll(d, 0o755))
	}
	write(t, filepath.Join(outside, "secret"), "cooldown: "+secret+"\n")
	write(t, filepath.Join(repo, "keys", "cosign.pub"), "-----BEGIN PUBLIC KEY-----\n")
	return repo, outside
}

func write(t *testing.T, p, s string) {
	t.Helper()
	assert.NilError(t, os.WriteFile(p, []byte(s), 0o644))
	assert.NilError(t, os.Chmod(p, 0o644)) // whatever the umask
}

// quickly fails the test if f blocks (a FIFO opened for reading waits for
// a writer forever).
func quickly(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("blocked for 10s")
	}
}

func TestLoadFilePaths(t *testing.T) {
	repo, outside := newRepo(t)
	assert.NilError(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(repo, "link-out")))
	assert.NilError(t, os.Symlink("../outside/secret", filepath.Join(repo, "rel-link-out")))
	assert.NilError(t, os.Symlink("/dev/zero", filepath.Join(repo, "zero")))
	assert.NilError(t, os.Symlink("keys/cosign.pub", filepath.Join(repo, "link-in")))
	assert.NilError(t, syscall.Mkfifo(filepath.Join(repo, "fifo"), 0o644))
	big, err := os.Create(filepath.Join(repo, "big"))
	assert.NilError(t, err)
	assert.NilError(t, big.Truncate(policy.MaxFileSize+1))
	big.Close()

	cases := []struct {
		dir, key, val string
		want          string // error; "" for a path resolved to want
	}{
		{"", "trusted-root", "/etc/passwd", `trusted-root: "/etc/passwd" is an absolute path: paths in .cgpin.yaml are relative to it and stay inside the repository ` + repo},
		{"", "key", "/dev/zero", `key: "/dev/zero" is an absolute path`},
		{"", "key", "../outside/secret", `key: "../outside/secret" leaves the repository ` + repo},
		{"deploy", "key", "../../outside/secret", `leaves the repository ` + repo},
		{"", "trusted-root", "link-out", `trusted-root: "link-out" is a symbolic link out of the repository ` + repo},
		{"", "key", "rel-link-out", `is a symbolic link out of the repository`},
		{"", "key", "zero", `"zero" is a symbolic link out of the repository`},
		{"", "key", "fifo", "fifo: not a regular file"},
		{"", "key", "big", "big: larger than the 1 MiB limit"},
		{"", "key", "missing", "no such file"},
		{"", "key", "keys/cosign.pub", ""},
		{"deploy", "key", "../keys/cosign.pub", ""},
		{"", "key", "link-in", ""},
	}
	for _, tc := range cases {
		t.Run(tc.dir+"/"+tc.val, func(t *testing.T) {
			pf := filepath.Join(repo, tc.dir, policy.FileName)
			write(t, pf, "verify: true\n"+tc.key+": "+tc.val+"\n")
			t.Cleanup(func() { os.Remove(pf) })
			var f *policy.File
			var err error
			quickly(t, func() { f, err = policy.LoadFile(pf, nil) })
			if tc.want == "" {
				assert.NilError(t, err)
				assert.Equal(t, f.Root, repo)
				assert.Equal(t, f.Settings[tc.key].Values[0], filepath.Join(repo, tc.dir, tc.val))
				return
			}
			assert.ErrorContains(t, err, pf+":2: "+tc.key+": ")
			assert.ErrorContains(t, err, tc.want)
			assert.Assert(t, !strings.Contains(err.Error(), secret), err.Error())
		})
	}
}

func TestLoadFileItself(t *testing.T) {
	repo, outside := newRepo(t)
	pf := filepath.Join(repo, policy.FileName)

	// A policy file linked out of the repository is not read: its content
	// (here a token) would be quoted in the errors.
	assert.NilError(t, os.Symlink(filepath.Join(outside, "secret"), pf))
	_, err := policy.LoadFile(pf, nil)
	assert.ErrorContains(t, err, pf+": is a symbolic link out of the repository "+repo)
	assert.Assert(t, !strings.Contains(err.Error(), secret), err.Error())
	assert.NilError(t, os.Remove(pf))

	// Too large, or not a regular file: refused without reading (or waiting).
	write(t, pf, "# "+strings.Repeat("x", policy.MaxFileSize)+"\n")
	_, err = policy.LoadFile(pf, nil)
	assert.ErrorContains(t, err, pf+": larger than the 1 MiB limit")
	assert.NilError(t, os.Remove(pf))
	assert.NilError(t, syscall.Mkfifo(pf, 0o644))
	quickly(t, func() { _, err = policy.LoadFile(pf, nil) })
	assert.ErrorContains(t, err, pf+": not a regular file")
}

func TestReadFile(t *testing.T) {
	// A flag's path may be anywhere, but /dev/zero and FIFOs are not read.
	fifo := filepath.Join(t.TempDir(), "fifo")
	assert.NilError(t, syscall.Mkfifo(fifo, 0o644))
	for _, p := range []string{"/dev/zero", fifo} {
		var err error
		quickly(t, func() { _, err = policy.ReadFile(p, "") })
		assert.ErrorContains(t, err, p+": not a regular file")
	}
	ok := filepath.Join(t.TempDir(), "ok")
	write(t, ok, "fine")
	b, err := policy.ReadFile(ok, "")
	assert.NilError(t, err)
	assert.Equal(t, string(b), "fine")
}

func TestFindFileStopsAtTheRepository(t *testing.T) {
	base := t.TempDir()
	write(t, filepath.Join(base, policy.FileName), "update: true\n") // planted above
	// Without .git only the directory given is looked at.
	work := filepath.Join(base, "work", "sub")
	assert.NilError(t, os.MkdirAll(work, 0o755))
	got, err := policy.FindFile([]string{work})
	assert.NilError(t, err)
	assert.Equal(t, got, "")
	write(t, filepath.Join(work, policy.FileName), "")
	got, err = policy.FindFile([]string{filepath.Join(work, "compose.yaml")})
	assert.NilError(t, err)
	assert.Equal(t, got, filepath.Join(work, policy.FileName))
	// In a repository: from the path up to its root, not above it.
	repo := filepath.Join(base, "repo")
	sub := filepath.Join(repo, "a", "b")
	assert.NilError(t, os.MkdirAll(sub, 0o755))
	assert.NilError(t, os.WriteFile(filepath.Join(repo, ".git"), []byte("gitdir: elsewhere\n"), 0o644)) // a worktree
	got, err = policy.FindFile([]string{sub})
	assert.NilError(t, err)
	assert.Equal(t, got, "")
	write(t, filepath.Join(repo, policy.FileName), "")
	got, err = policy.FindFile([]string{sub})
	assert.NilError(t, err)
	assert.Equal(t, got, filepath.Join(repo, policy.FileName))
}

func TestLoadFileTrust(t *testing.T) {
	repo, _ := newRepo(t)
	pf := filepath.Join(repo, policy.FileName)
	write(t, pf, "update: true\n")
	load := func() error { _, err := policy.LoadFile(pf, nil); return err }
	assert.NilError(t, load())

	// Writable by other users: the file, or its directory without the
	// sticky bit.
	assert.NilError(t, os.Chmod(pf, 0o666))
	assert.ErrorContains(t, load(), pf+": refused: it is writable by other users (-rw-rw-rw-)")
	assert.NilError(t, os.Chmod(pf, 0o644))
	assert.NilError(t, os.Chmod(repo, 0o777))
	assert.ErrorContains(t, load(), pf+": refused: its directory "+repo+" is writable by other users (drwxrwxrwx)")
	assert.NilError(t, os.Chmod(repo, 0o777|os.ModeSticky))
	assert.NilError(t, load()) // /tmp-like: others cannot replace the file
	assert.NilError(t, os.Chmod(repo, 0o755))
	// Group-writable for your own primary group is fine (umask 002).
	assert.NilError(t, os.Chmod(pf, 0o664))
	assert.NilError(t, load())

	if os.Getuid() != 0 {
		t.Skip("giving a file to another user needs root")
	}
	const nobody = 65534
	assert.NilError(t, os.Chown(pf, 0, nobody)) // group-writable for another group
	assert.ErrorContains(t, load(), pf+": refused: it is writable by other users (-rw-rw-r--)")
	assert.NilError(t, os.Chmod(pf, 0o644))
	assert.NilError(t, os.Chown(pf, nobody, nobody))
	assert.ErrorContains(t, load(), pf+": refused: it is owned by another user (uid 65534), not by you or root")
	assert.NilError(t, os.Chown(pf, 0, 0))
	assert.NilError(t, os.Chown(repo, nobody, nobody))
	assert.ErrorContains(t, load(), pf+": refused: its directory "+repo+" is owned by another user (uid 65534)")
	assert.ErrorContains(t, load(), "list the repository in CGHISTORY_SAFE_DIRECTORY")

	// A safe directory (git's safe.directory): a root job on a checkout
	// another user owns, as in a CI container. Only the owner may differ.
	assert.NilError(t, os.Chown(pf, nobody, nobody))
	loadSafe := func(list string) error { _, err := policy.LoadFile(pf, policy.ParseSafeDirectories(list)); return err }
	assert.NilError(t, loadSafe(repo))
	assert.NilError(t, loadSafe("/elsewhere"+string(filepath.ListSeparator)+repo+"/"))
	assert.NilError(t, loadSafe("*"))
	link := filepath.Join(t.TempDir(), "checkout")
	assert.NilError(t, os.Symlink(repo, link))
	assert.NilError(t, loadSafe(link))
	assert.ErrorContains(t, loadSafe(filepath.Dir(repo)), "owned by another user") // the repository itself, not a parent
	assert.ErrorContains(t, loadSafe(""), "owned by another user")
	assert.NilError(t, os.Chmod(pf, 0o666))
	assert.ErrorContains(t, loadSafe(repo), pf+": refused: it is writable by other users")
	assert.NilError(t, os.Chmod(pf, 0o644))
	assert.NilError(t, os.Chown(pf, 0, 0))
	assert.NilError(t, os.Chown(repo, 0, 0))
	assert.NilError(t, load())
}
