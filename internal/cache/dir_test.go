package cache

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// userFile is a file of the user's that the cache must never touch.
type userFile struct {
	path    string
	content []byte
	mode    fs.FileMode
	size    int64 // for sparse files: content is empty
}

// plant writes the user's files under dir and returns a check that they
// are all still there, unchanged in content, size, mode and mtime.
func plant(t *testing.T, dir string, files []userFile) func() {
	t.Helper()
	old := time.Now().Add(-48 * time.Hour) // older than anything the cache writes
	for _, f := range files {
		p := filepath.Join(dir, f.path)
		assert.NilError(t, os.MkdirAll(filepath.Dir(p), 0o700))
		assert.NilError(t, os.WriteFile(p, f.content, f.mode))
		assert.NilError(t, os.Chmod(p, f.mode))
		if f.size > 0 {
			assert.NilError(t, os.Truncate(p, f.size))
		}
		assert.NilError(t, os.Chtimes(p, old, old))
	}
	return func() {
		t.Helper()
		for _, f := range files {
			p := filepath.Join(dir, f.path)
			fi, err := os.Lstat(p)
			if !assert.Check(t, err, "%s deleted", f.path) {
				continue
			}
			assert.Check(t, is.Equal(fi.Mode().Perm(), f.mode), "%s chmod'ed", f.path)
			assert.Check(t, fi.ModTime().Equal(old), "%s touched", f.path)
			if f.size > 0 {
				assert.Check(t, is.Equal(fi.Size(), f.size), "%s changed", f.path)
				continue
			}
			b, err := os.ReadFile(p)
			assert.Check(t, err)
			assert.Check(t, bytes.Equal(b, f.content), "%s changed", f.path)
		}
	}
}

func checkDirMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(fi.Mode()&(fs.ModePerm|fs.ModeSticky), want), "%s", path)
}

// overfill stores n entries of 1 KiB each through c.
func overfill(t *testing.T, c *Cache, n int) {
	t.Helper()
	for i := range n {
		assert.NilError(t, c.Put("manifests", fmt.Sprintf("e%d", i), bytes.Repeat([]byte{byte(i)}, 1<<10)))
	}
}

// The incident: CGHISTORY_CACHE_DIR=$HOME with a small bound deleted the
// user's files and made $HOME 0700. Now the cache lives in
// $HOME/docker-cghistory and nothing of the user's is deleted or chmod'ed,
// even files whose layout and mode look like the cache's own.
func TestUserDirIsNeverPruned(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	assert.NilError(t, os.Mkdir(home, 0o755))
	assert.NilError(t, os.Chmod(home, 0o755))
	intact := plant(t, home, []userFile{
		{path: "Documents/thesis.txt", content: []byte("chapter one"), mode: 0o600},
		{path: ".ssh/id_ed25519", content: []byte("-----BEGIN OPENSSH PRIVATE KEY-----"), mode: 0o600},
		{path: "vm/disk.qcow2", mode: 0o600, size: 64 << 20}, // sparse: 64 MiB on paper
		{path: ".bashrc", content: []byte("export PS1='$ '"), mode: 0o644},
		{path: "tokens/notes", content: []byte("mine"), mode: 0o600},
	})

	const bound = 4 << 10
	for _, open := range []bool{false, true} {
		t.Run(fmt.Sprintf("Open=%v", open), func(t *testing.T) {
			c := New(home, bound)
			if open {
				var err error
				c, err = Open(home, bound)
				assert.NilError(t, err)
				assert.Check(t, is.Equal(c.Dir, filepath.Join(home, subdirName)))
			}
			overfill(t, c, 12)
			assert.NilError(t, c.Prune())
			got, ok := c.Get("manifests", "e11")
			assert.Check(t, ok && len(got) == 1<<10, "newest entry missing")
			intact()
			checkDirMode(t, home, 0o755)
			cacheDir := filepath.Join(home, subdirName)
			checkDirMode(t, cacheDir, 0o700)
			assert.Check(t, exists(filepath.Join(cacheDir, tagName)))
			assert.Check(t, treeSize(t, cacheDir) <= bound, "cache over its bound")
			assert.Check(t, !exists(filepath.Join(home, tagName)), "the user's directory tagged")
		})
	}
}

// A world-writable sticky directory (/tmp) with other users' files: the
// cache goes in a subdirectory of its own and touches none of them, nor the
// directory's mode. A subdirectory someone else made is refused.
func TestSharedDir(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	shared := filepath.Join(t.TempDir(), "tmp")
	assert.NilError(t, os.Mkdir(shared, 0o777))
	assert.NilError(t, os.Chmod(shared, 0o777|fs.ModeSticky))
	files := []userFile{
		{path: "build/out.log", content: []byte("mine, in the cache's layout"), mode: 0o600},
		{path: "x.sock", content: []byte("not a socket"), mode: 0o666},
	}
	foreign := []userFile{
		{path: "alice/report.pdf", content: []byte("alice's"), mode: 0o600},
		{path: "bob.txt", content: []byte("bob's"), mode: 0o644},
	}
	asRoot := os.Geteuid() == 0
	if asRoot {
		files = append(files, foreign...)
	}
	intact := plant(t, shared, files)
	if asRoot {
		for _, f := range foreign {
			assert.NilError(t, os.Lchown(filepath.Join(shared, f.path), 65534, 65534))
		}
		assert.NilError(t, os.Lchown(filepath.Join(shared, "alice"), 65534, 65534))
	}

	c := New(shared, 2<<10)
	overfill(t, c, 6)
	assert.NilError(t, c.Prune())
	intact()
	checkDirMode(t, shared, 0o777|fs.ModeSticky)
	assert.Check(t, treeSize(t, filepath.Join(shared, subdirName)) <= 2<<10)
	checkDirMode(t, filepath.Join(shared, subdirName), 0o700)

	t.Run("empty shared dir is not the cache", func(t *testing.T) {
		empty := filepath.Join(t.TempDir(), "tmp")
		assert.NilError(t, os.Mkdir(empty, 0o777))
		assert.NilError(t, os.Chmod(empty, 0o777|fs.ModeSticky))
		c, err := Open(empty, 0)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(c.Dir, filepath.Join(empty, subdirName)))
		checkDirMode(t, empty, 0o777|fs.ModeSticky)
	})

	t.Run("subdirectory of another user refused", func(t *testing.T) {
		if !asRoot {
			t.Skip("giving a directory to another user needs root")
		}
		dir := filepath.Join(t.TempDir(), "tmp")
		assert.NilError(t, os.Mkdir(dir, 0o777))
		assert.NilError(t, os.Chmod(dir, 0o777|fs.ModeSticky))
		intact := plant(t, dir, []userFile{{path: "other", content: []byte("x"), mode: 0o644}})
		sub := filepath.Join(dir, subdirName)
		assert.NilError(t, os.Mkdir(sub, 0o777))
		assert.NilError(t, os.Chown(sub, 65534, 65534))

		_, err := Open(dir, 0)
		assert.Check(t, is.ErrorContains(err, "belongs to another user (uid 65534)"))
		assert.Check(t, is.ErrorContains(err, sub))
		err = New(dir, 0).Put("tokens", "k", []byte("secret token"))
		assert.Check(t, is.ErrorContains(err, "belongs to another user (uid 65534)"))
		entries, err := os.ReadDir(sub)
		assert.NilError(t, err)
		assert.Check(t, is.Len(entries, 0), "written into another user's directory")
		intact()

		// Tagged by the other user, too.
		assert.NilError(t, os.WriteFile(filepath.Join(sub, tagName), []byte(tagText), 0o644))
		assert.NilError(t, os.Chown(filepath.Join(sub, tagName), 65534, 65534))
		_, err = Open(dir, 0)
		assert.Check(t, is.ErrorContains(err, "belongs to another user (uid 65534)"))
	})

	t.Run("subdirectory that is a symbolic link refused", func(t *testing.T) {
		dir := t.TempDir()
		victim := t.TempDir()
		intact := plant(t, victim, []userFile{{path: "manifests/e0", content: []byte("victim's"), mode: 0o600}})
		plant(t, dir, []userFile{{path: "other", content: []byte("x"), mode: 0o644}})
		assert.NilError(t, os.Symlink(victim, filepath.Join(dir, subdirName)))
		_, err := Open(dir, 0)
		assert.Check(t, is.ErrorContains(err, "is a symbolic link the cache did not make"))
		c := New(dir, 1)
		assert.Check(t, is.ErrorContains(c.Put("manifests", "e1", []byte("xx")), "symbolic link"))
		assert.NilError(t, c.Prune())
		intact()
		assert.Check(t, !exists(filepath.Join(victim, tagName)))
	})

	t.Run("subdirectory that is not a cache refused", func(t *testing.T) {
		dir := t.TempDir()
		intact := plant(t, dir, []userFile{
			{path: "other", content: []byte("x"), mode: 0o644},
			{path: subdirName + "/settings.json", content: []byte("{}"), mode: 0o644},
		})
		_, err := Open(dir, 0)
		assert.Check(t, is.ErrorContains(err, "holds files that are not a docker-cghistory cache"))
		assert.Check(t, is.ErrorContains(err, "CGHISTORY_CACHE_DIR"))
		intact()
	})
}

// A configured path that is a symbolic link to a directory is the cache,
// pruned to its bound like a plain directory (filepath.WalkDir does not
// follow a root that is a link, so the bound used to be ignored).
func TestSymlinkedDir(t *testing.T) {
	real := filepath.Join(t.TempDir(), "real")
	link := filepath.Join(t.TempDir(), "cache")
	assert.NilError(t, os.Mkdir(real, 0o700))
	assert.NilError(t, os.Symlink(real, link))

	const bound = 10 << 10
	paths := fill(t, link, 20, 1<<10, time.Now().Add(-time.Hour))
	assert.Assert(t, is.Equal(treeSize(t, real), int64(20<<10)))
	assert.Check(t, exists(filepath.Join(real, tagName)), "the directory linked to is not the cache")

	c, err := Open(link, bound)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(c.Dir, link))
	assert.NilError(t, c.Prune())
	assert.Check(t, treeSize(t, real) <= bound, "total %d over bound %d", treeSize(t, real), bound)
	assert.Check(t, !exists(paths[0]), "oldest entry kept")
	assert.Check(t, exists(paths[19]), "newest entry pruned")

	// Automatic pruning too.
	overfill(t, New(link, bound), 15)
	assert.Check(t, treeSize(t, real) <= bound, "total %d over bound %d", treeSize(t, real), bound)
}

// Inside its own directory, the cache prunes and deletes only what it
// writes, and no symbolic link leads it out.
func TestOnlyOwnFilesPruned(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	c := New(dir, 2<<10)
	assert.NilError(t, c.Put("tokens", "k", []byte("v")))

	intact := plant(t, dir, []userFile{
		{path: "notes.txt", content: bytes.Repeat([]byte("n"), 4<<10), mode: 0o600},
		{path: "tokens/mine.txt", content: bytes.Repeat([]byte("m"), 4<<10), mode: 0o644},
		{path: "tokens/deeper/file", content: bytes.Repeat([]byte("d"), 4<<10), mode: 0o600},
		{path: "tuf/root.json", content: []byte("{}"), mode: 0o600},
	})
	outsideIntact := plant(t, outside, []userFile{
		{path: "kind/e0", content: bytes.Repeat([]byte("o"), 4<<10), mode: 0o600},
		{path: "secret", content: []byte("outside secret"), mode: 0o600},
	})
	assert.NilError(t, os.Chmod(filepath.Join(outside, "kind"), 0o755))
	// Another cache inside this one (as a test's per-run cache might be).
	nested := New(filepath.Join(dir, "nested"), -1)
	assert.NilError(t, nested.Put("manifests", "n", make([]byte, 4<<10)))
	nestedTag, err := os.ReadFile(filepath.Join(dir, "nested", tagName))
	assert.NilError(t, err)
	assert.NilError(t, os.Symlink(filepath.Join(outside, "kind"), filepath.Join(dir, "linked")))
	assert.NilError(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "tokens", "stolen")))

	overfill(t, c, 6)
	assert.NilError(t, c.Prune())
	intact()
	outsideIntact()
	got, err := os.ReadFile(filepath.Join(dir, "nested", tagName))
	assert.Check(t, err == nil && bytes.Equal(got, nestedTag), "nested cache's tag touched")
	assert.Check(t, exists(filepath.Join(dir, "nested", "manifests", "n")), "nested cache pruned")
	assert.Check(t, exists(filepath.Join(dir, "tokens", "stolen")))
	var entries int64
	for i := range 6 {
		if exists(filepath.Join(dir, "manifests", fmt.Sprintf("e%d", i))) {
			entries += 1 << 10
		}
	}
	assert.Check(t, entries <= 2<<10, "own entries not pruned: %d bytes", entries)

	// No reads or writes through a link out of the cache.
	_, ok := c.Get("tokens", "stolen")
	assert.Check(t, !ok, "read through a symbolic link out of the cache")
	c.Remove("tokens", "stolen")
	outsideIntact()
	err = c.Put("linked", "e1", []byte("x"))
	assert.Check(t, is.ErrorContains(err, "not a directory"))
	_, ok = c.Get("linked", "e0")
	assert.Check(t, !ok)
	c.Remove("linked", "e0")
	outsideIntact()
	checkDirMode(t, filepath.Join(outside, "kind"), 0o755)
	assert.Check(t, !exists(filepath.Join(outside, "kind", "e1")))
	c.Remove("tokens", "mine.txt") // not written by Put: kept
	intact()
}

// A cache directory whose tag is gone is neither pruned nor deleted from.
func TestNoPruneWithoutTag(t *testing.T) {
	dir := t.TempDir()
	c := New(dir, 2<<10)
	assert.NilError(t, c.Put("manifests", "first", []byte("v")))
	assert.NilError(t, os.Remove(filepath.Join(dir, tagName)))
	err := c.Put("manifests", "big", make([]byte, 4<<10))
	assert.Check(t, is.ErrorContains(err, "not pruning"))
	assert.Check(t, exists(filepath.Join(dir, "manifests", "big")))
	assert.NilError(t, c.Prune())
	assert.Check(t, exists(filepath.Join(dir, "manifests", "big")))
	c.Remove("manifests", "first")
	assert.Check(t, exists(filepath.Join(dir, "manifests", "first")))
}

// A cache tagged by an earlier run keeps working; one written by a version
// before the tag is adopted only if it is exactly the cache's layout.
func TestExistingCache(t *testing.T) {
	t.Run("tagged", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "cache")
		assert.NilError(t, New(dir, 0).Put("tokens", "k", []byte("v")))
		c, err := Open(dir, 1<<10)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(c.Dir, dir))
		got, ok := c.Get("tokens", "k")
		assert.Check(t, ok && string(got) == "v")
		overfill(t, c, 4)
		assert.Check(t, treeSize(t, dir) <= 1<<10)
		assert.Check(t, !exists(filepath.Join(dir, subdirName)))
	})

	// legacy writes a cache as versions before the tag left it.
	legacy := func(t *testing.T, dir string) {
		t.Helper()
		for _, p := range []string{"tokens/" + Key("a"), "blobs/sha256-" + strings.Repeat("ab", 32), "manifest-types/" + strings.Repeat("ab", 32), "completion/names"} {
			assert.NilError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o700))
			assert.NilError(t, os.WriteFile(filepath.Join(dir, p), bytes.Repeat([]byte("x"), 1<<10), 0o600))
		}
		assert.NilError(t, os.MkdirAll(filepath.Join(dir, "tuf", "tuf-repo-cdn.sigstore.dev"), 0o750))
		assert.NilError(t, os.WriteFile(filepath.Join(dir, "tuf", "tuf-repo-cdn.sigstore.dev", "root.json"), []byte("{}"), 0o644))
		for _, p := range []string{"tokens", "blobs", "manifest-types", "completion", "."} {
			assert.NilError(t, os.Chmod(filepath.Join(dir, p), 0o700))
		}
	}

	t.Run("old layout adopted", func(t *testing.T) {
		dir := t.TempDir()
		legacy(t, dir)
		c := New(dir, 3<<10)
		got, ok := c.Get("tokens", Key("a"))
		assert.Check(t, ok && len(got) == 1<<10)
		assert.NilError(t, c.Put("tokens", "new", []byte("v")))
		assert.Check(t, exists(filepath.Join(dir, tagName)), "old cache not adopted")
		assert.Check(t, !exists(filepath.Join(dir, subdirName)))
		assert.Check(t, treeSize(t, dir)-2 <= 3<<10) // tuf's root.json is not the cache's
		assert.Check(t, exists(filepath.Join(dir, "tuf", "tuf-repo-cdn.sigstore.dev", "root.json")))
	})

	spoilers := []struct {
		name  string
		spoil func(t *testing.T, dir string)
	}{
		{name: "user file at the top", spoil: func(t *testing.T, dir string) {
			assert.NilError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("n"), 0o600))
		}},
		{name: "unknown kind", spoil: func(t *testing.T, dir string) {
			assert.NilError(t, os.Mkdir(filepath.Join(dir, "Documents"), 0o700))
		}},
		{name: "file of another mode", spoil: func(t *testing.T, dir string) {
			assert.NilError(t, os.WriteFile(filepath.Join(dir, "tokens", "mine"), []byte("n"), 0o644))
		}},
		{name: "loose directory mode", spoil: func(t *testing.T, dir string) {
			assert.NilError(t, os.Chmod(filepath.Join(dir, "tokens"), 0o755))
		}},
		{name: "subdirectory in a kind", spoil: func(t *testing.T, dir string) {
			assert.NilError(t, os.Mkdir(filepath.Join(dir, "tokens", "sub"), 0o700))
		}},
		{name: "symbolic link", spoil: func(t *testing.T, dir string) {
			assert.NilError(t, os.Symlink("/etc", filepath.Join(dir, "history")))
		}},
		{name: "another tool's tag", spoil: func(t *testing.T, dir string) {
			assert.NilError(t, os.WriteFile(filepath.Join(dir, tagName), []byte(tagSignature+"\n# other tool\n"), 0o644))
		}},
	}
	for _, tc := range spoilers {
		t.Run("old layout with "+tc.name+" left alone", func(t *testing.T) {
			if runtime.GOOS == "windows" && strings.Contains(tc.name, "mode") {
				t.Skip("Unix file modes")
			}
			dir := t.TempDir()
			legacy(t, dir)
			tc.spoil(t, dir)
			before := snapshot(t, dir)
			c := New(dir, 1<<10)
			overfill(t, c, 4)
			assert.NilError(t, c.Prune())
			assert.DeepEqual(t, snapshot(t, dir), before)
			assert.Check(t, treeSize(t, filepath.Join(dir, subdirName)) <= 1<<10)
		})
	}
}

// snapshot describes every file under dir but the cache's subdirectory:
// path, mode, size and mtime (dir itself: path and mode).
func snapshot(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == filepath.Join(dir, subdirName) {
			return filepath.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if p == dir { // creating the subdirectory changes dir's mtime
			out = append(out, fmt.Sprintf("%s %v", p, fi.Mode()))
			return nil
		}
		out = append(out, fmt.Sprintf("%s %v %d %d", p, fi.Mode(), fi.Size(), fi.ModTime().UnixNano()))
		return nil
	})
	assert.NilError(t, err)
	return out
}

// Processes setting up one new directory at once all use it (a tag being
// written by one does not make it "not empty" for another).
func TestConcurrentSetUp(t *testing.T) {
	for round := range 20 {
		dir := filepath.Join(t.TempDir(), fmt.Sprint(round))
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Go(func() {
				errs <- New(dir, 0).Put("tokens", fmt.Sprint(g), []byte("v"))
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			assert.Check(t, err)
		}
		assert.Assert(t, !exists(filepath.Join(dir, subdirName)), "round %d: a process used a subdirectory", round)
		entries, err := os.ReadDir(filepath.Join(dir, "tokens"))
		assert.NilError(t, err)
		assert.Check(t, is.Len(entries, 8))
	}
}

// A cache directory deleted during a run ("delete it to start afresh") is
// set up again by the next Put.
func TestDeletedDuringRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	c := New(dir, 0)
	assert.NilError(t, c.Put("tokens", "a", []byte("v")))
	assert.NilError(t, os.RemoveAll(dir))
	_, ok := c.Get("tokens", "a")
	assert.Check(t, !ok)
	assert.NilError(t, c.Put("tokens", "b", []byte("v")))
	assert.Check(t, exists(filepath.Join(dir, tagName)))
	got, ok := c.Get("tokens", "b")
	assert.Check(t, ok && string(got) == "v")

	// Set up again in the subdirectory of the directory named, which must
	// still not be a symbolic link.
	home := t.TempDir()
	plant(t, home, []userFile{{path: "notes", content: []byte("n"), mode: 0o644}})
	c, err := Open(home, 0)
	assert.NilError(t, err)
	assert.NilError(t, c.Put("tokens", "a", []byte("v")))
	assert.NilError(t, os.RemoveAll(c.Dir))
	elsewhere := t.TempDir()
	assert.NilError(t, os.Symlink(elsewhere, c.Dir))
	assert.Check(t, is.ErrorContains(c.Put("tokens", "b", []byte("v")), "symbolic link"))
	entries, err := os.ReadDir(elsewhere)
	assert.NilError(t, err)
	assert.Check(t, is.Len(entries, 0))
}

func TestOpen(t *testing.T) {
	c, err := Open("", 0)
	assert.NilError(t, err)
	assert.Check(t, !c.enabled())

	file := filepath.Join(t.TempDir(), "file")
	assert.NilError(t, os.WriteFile(file, []byte("x"), 0o600))
	_, err = Open(file, 0)
	assert.Check(t, is.ErrorContains(err, "is not a directory"))

	// A directory that cannot be created (here: under a file; a read-only
	// file system alike) is no error up front, as before: Puts fail, Gets
	// miss, and the commands still run.
	c, err = Open(filepath.Join(file, "cache"), 0)
	assert.NilError(t, err)
	assert.Check(t, is.ErrorContains(c.Put("tokens", "k", []byte("v")), "not a directory"))
	_, ok := c.Get("tokens", "k")
	assert.Check(t, !ok)

	dir := filepath.Join(t.TempDir(), "a", "b")
	c, err = Open(dir, 7)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(c.Dir, dir))
	assert.Check(t, is.Equal(c.MaxBytes, int64(7)))
	tag, err := os.ReadFile(filepath.Join(dir, tagName))
	assert.NilError(t, err)
	assert.Check(t, strings.HasPrefix(string(tag), "Signature: 8a477f597d28d172789f06886806bc55"))
}
