package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func digest(b []byte) v1.Hash {
	sum := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}

// treeSize is the total size of the regular files under dir but its
// cache directory tag.
func treeSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && p != filepath.Join(dir, tagName) {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	assert.NilError(t, err)
	return n
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func TestPutGet(t *testing.T) {
	c := New(t.TempDir(), -1)
	tests := []struct {
		name, kind, key string
		value           []byte
	}{
		{name: "text", kind: "tokens", key: "registry", value: []byte("hello")},
		{name: "empty", kind: "tokens", key: "empty", value: []byte{}},
		{name: "binary", kind: "manifests", key: Key("a", "b"), value: []byte{0, 1, 2, 255}},
		{name: "long hex key", kind: "secdb", key: strings.Repeat("ab", 64), value: bytes.Repeat([]byte("x"), 4096)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ok := c.Get(tc.kind, tc.key)
			assert.Check(t, !ok, "hit before Put")
			assert.NilError(t, c.Put(tc.kind, tc.key, tc.value))
			got, ok := c.Get(tc.kind, tc.key)
			assert.Assert(t, ok, "miss after Put")
			assert.Check(t, bytes.Equal(got, tc.value), "got %q, want %q", got, tc.value)
			assert.Check(t, exists(filepath.Join(c.Dir, tc.kind, tc.key)))
		})
	}

	t.Run("overwrite", func(t *testing.T) {
		assert.NilError(t, c.Put("tokens", "k", []byte("one")))
		assert.NilError(t, c.Put("tokens", "k", []byte("two")))
		got, ok := c.Get("tokens", "k")
		assert.Assert(t, ok)
		assert.Check(t, is.Equal(string(got), "two"))
	})

	t.Run("remove", func(t *testing.T) {
		assert.NilError(t, c.Put("tokens", "gone", []byte("x")))
		c.Remove("tokens", "gone")
		_, ok := c.Get("tokens", "gone")
		assert.Check(t, !ok)
		c.Remove("tokens", "never-there") // no panic, no error
	})

	t.Run("no temp files left", func(t *testing.T) {
		err := filepath.WalkDir(c.Dir, func(p string, d fs.DirEntry, err error) error {
			assert.NilError(t, err)
			assert.Check(t, !strings.HasPrefix(d.Name(), tmpPrefix), "leftover %s", p)
			return nil
		})
		assert.NilError(t, err)
	})
}

func TestJSON(t *testing.T) {
	type entry struct {
		Token   string    `json:"token"`
		Expires time.Time `json:"expires"`
		Scopes  []string  `json:"scopes"`
	}
	c := New(t.TempDir(), 0)
	want := entry{Token: "abc", Expires: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), Scopes: []string{"pull", "push"}}
	assert.NilError(t, c.PutJSON("tokens", "reg", want))

	var got entry
	assert.Assert(t, c.GetJSON("tokens", "reg", &got))
	assert.DeepEqual(t, got, want)

	var missing entry
	assert.Check(t, !c.GetJSON("tokens", "other", &missing))

	// A value that does not decode is a miss and is removed.
	assert.NilError(t, c.Put("tokens", "bad", []byte("{not json")))
	assert.Check(t, !c.GetJSON("tokens", "bad", &got))
	assert.Check(t, !exists(filepath.Join(c.Dir, "tokens", "bad")), "undecodable entry kept")

	// A value of the wrong shape too.
	assert.NilError(t, c.Put("tokens", "shape", []byte(`{"scopes":"not a list"}`)))
	assert.Check(t, !c.GetJSON("tokens", "shape", &got))
	assert.Check(t, !exists(filepath.Join(c.Dir, "tokens", "shape")))

	// Values that cannot be encoded are an error.
	err := c.PutJSON("tokens", "chan", make(chan int))
	assert.Check(t, is.ErrorContains(err, "cache: encode"))
}

func TestDisabled(t *testing.T) {
	tests := []struct {
		name string
		c    *Cache
	}{
		{name: "nil", c: nil},
		{name: "empty Dir", c: New("", 0)},
		{name: "zero value", c: &Cache{}},
	}
	b := []byte("blob")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			assert.NilError(t, c.Put("tokens", "k", []byte("v")))
			_, ok := c.Get("tokens", "k")
			assert.Check(t, !ok)
			assert.NilError(t, c.PutJSON("tokens", "j", map[string]int{"a": 1}))
			var v map[string]int
			assert.Check(t, !c.GetJSON("tokens", "j", &v))
			assert.NilError(t, c.PutBlob(digest(b), b))
			_, ok = c.GetBlob(digest(b))
			assert.Check(t, !ok)
			c.Remove("tokens", "k")
			assert.NilError(t, c.Prune())
		})
	}
	// Nothing was written to the working directory either.
	assert.Check(t, !exists("tokens"))
	assert.Check(t, !exists("blobs"))
}

func TestModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix file modes")
	}
	checkMode := func(t *testing.T, path string, want fs.FileMode) {
		t.Helper()
		fi, err := os.Stat(path)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(fi.Mode().Perm(), want), "%s", path)
	}

	t.Run("new tree", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "parent", "cache")
		c := New(dir, 0)
		assert.NilError(t, c.Put("manifests", "k", []byte("v")))
		b := []byte("blob content")
		assert.NilError(t, c.PutBlob(digest(b), b))
		checkMode(t, filepath.Dir(dir), 0o700)
		checkMode(t, dir, 0o700)
		checkMode(t, filepath.Join(dir, "manifests"), 0o700)
		checkMode(t, filepath.Join(dir, "manifests", "k"), 0o600)
		checkMode(t, filepath.Join(dir, "blobs"), 0o700)
		checkMode(t, filepath.Join(dir, "blobs", "sha256-"+digest(b).Hex), 0o600)
	})

	t.Run("the cache's own dirs tightened", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "cache")
		assert.NilError(t, New(dir, 0).Put("tokens", "k", []byte("v")))
		assert.NilError(t, os.Chmod(dir, 0o755))
		assert.NilError(t, os.Chmod(filepath.Join(dir, "tokens"), 0o755))
		checkMode(t, dir, 0o755) // the test must be able to fail
		c := New(dir, 0)
		assert.NilError(t, c.Put("tokens", "k", []byte("v")))
		checkMode(t, dir, 0o700)
		checkMode(t, filepath.Join(dir, "tokens"), 0o700)
		checkMode(t, filepath.Join(dir, "tokens", "k"), 0o600)
	})

	t.Run("empty dir becomes the cache", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "cache")
		assert.NilError(t, os.Mkdir(dir, 0o755))
		assert.NilError(t, os.Chmod(dir, 0o755))
		c := New(dir, 0)
		assert.NilError(t, c.Put("tokens", "k", []byte("v")))
		checkMode(t, dir, 0o700)
		checkMode(t, filepath.Join(dir, "tokens", "k"), 0o600)
		checkMode(t, filepath.Join(dir, tagName), 0o600)
	})

	t.Run("overwritten file", func(t *testing.T) {
		dir := t.TempDir()
		c := New(dir, 0)
		assert.NilError(t, c.Put("tokens", "k", []byte("v")))
		p := filepath.Join(dir, "tokens", "k")
		assert.NilError(t, os.Chmod(p, 0o644))
		assert.NilError(t, c.Put("tokens", "k", []byte("w")))
		checkMode(t, p, 0o600)
	})
}

func TestBlobs(t *testing.T) {
	c := New(t.TempDir(), 0)
	b := []byte("layer bytes")
	d := digest(b)

	_, ok := c.GetBlob(d)
	assert.Check(t, !ok)
	assert.NilError(t, c.PutBlob(d, b))
	got, ok := c.GetBlob(d)
	assert.Assert(t, ok)
	assert.Check(t, bytes.Equal(got, b))

	t.Run("corrupted entry misses and is removed", func(t *testing.T) {
		p := filepath.Join(c.Dir, "blobs", "sha256-"+d.Hex)
		assert.Assert(t, exists(p))
		assert.NilError(t, os.WriteFile(p, []byte("other bytes"), 0o600))
		_, ok := c.GetBlob(d)
		assert.Check(t, !ok, "corrupted blob used")
		assert.Check(t, !exists(p), "corrupted blob kept")
		// Stored again, it is served again.
		assert.NilError(t, c.PutBlob(d, b))
		_, ok = c.GetBlob(d)
		assert.Check(t, ok)
	})

	t.Run("truncated entry misses", func(t *testing.T) {
		p := filepath.Join(c.Dir, "blobs", "sha256-"+d.Hex)
		assert.NilError(t, os.WriteFile(p, b[:3], 0o600))
		_, ok := c.GetBlob(d)
		assert.Check(t, !ok)
		assert.Check(t, !exists(p))
	})

	refused := []struct {
		name string
		d    v1.Hash
		b    []byte
		err  string
	}{
		{name: "mismatching bytes", d: d, b: []byte("not the layer"), err: "does not match"},
		{name: "other algorithm", d: v1.Hash{Algorithm: "sha512", Hex: strings.Repeat("a", 128)}, b: b, err: "unsupported digest algorithm"},
		{name: "short hex", d: v1.Hash{Algorithm: "sha256", Hex: "abc"}, b: b, err: "invalid digest"},
		{name: "path in hex", d: v1.Hash{Algorithm: "sha256", Hex: "../../" + strings.Repeat("a", 58)}, b: b, err: "invalid digest"},
		{name: "upper case hex", d: v1.Hash{Algorithm: "sha256", Hex: strings.ToUpper(d.Hex)}, b: b, err: "invalid digest"},
	}
	for _, tc := range refused {
		t.Run("PutBlob refuses "+tc.name, func(t *testing.T) {
			c := New(t.TempDir(), 0)
			err := c.PutBlob(tc.d, tc.b)
			assert.Check(t, is.ErrorContains(err, tc.err))
			assert.Check(t, strings.HasPrefix(err.Error(), "cache: "), "%v", err)
			assert.Check(t, is.Equal(treeSize(t, c.Dir), int64(0)))
			_, ok := c.GetBlob(tc.d)
			assert.Check(t, !ok)
		})
	}
}

func TestBadNames(t *testing.T) {
	dir := t.TempDir()
	c := New(filepath.Join(dir, "cache"), 0)
	tests := []struct{ kind, key string }{
		{"", "k"},
		{"tokens", ""},
		{"../escape", "k"},
		{"tokens", "../escape"},
		{"..", "k"},
		{"tokens", ".."},
		{"a/b", "k"},
		{"tokens", "a/b"},
		{`a\b`, "k"},
		{"tokens", `a\b`},
		{"tokens", "a..b"},
		{"tokens", ".hidden"},
		{"tokens", ".tmp-123"},
		{"tokens", "nul\x00byte"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q/%q", tc.kind, tc.key), func(t *testing.T) {
			err := c.Put(tc.kind, tc.key, []byte("v"))
			assert.Check(t, is.ErrorContains(err, "cache: invalid"))
			assert.Check(t, is.ErrorContains(c.PutJSON(tc.kind, tc.key, 1), "cache: invalid"))
			_, ok := c.Get(tc.kind, tc.key)
			assert.Check(t, !ok)
			var v int
			assert.Check(t, !c.GetJSON(tc.kind, tc.key, &v))
			c.Remove(tc.kind, tc.key)
		})
	}
	// Nothing was written anywhere, inside the cache or beside it.
	assert.Check(t, is.Equal(treeSize(t, dir), int64(0)))
}

// fill writes n entries of size bytes each through an unbounded cache, so
// that no automatic prune happens, and gives entry i the mtime base+i min.
func fill(t *testing.T, dir string, n, size int, base time.Time) []string {
	t.Helper()
	w := New(dir, -1)
	var paths []string
	for i := range n {
		key := fmt.Sprintf("entry-%02d", i)
		assert.NilError(t, w.Put("manifests", key, bytes.Repeat([]byte{byte(i)}, size)))
		p := filepath.Join(dir, "manifests", key)
		mt := base.Add(time.Duration(i) * time.Minute)
		assert.NilError(t, os.Chtimes(p, mt, mt))
		paths = append(paths, p)
	}
	return paths
}

func TestPrune(t *testing.T) {
	const bound = 10 << 10
	dir := t.TempDir()
	base := time.Now().Add(-time.Hour)
	paths := fill(t, dir, 20, 1<<10, base)
	assert.Assert(t, is.Equal(treeSize(t, dir), int64(20<<10)))

	c := New(dir, bound)
	// Using the oldest entry makes it the most recently used.
	_, ok := c.Get("manifests", "entry-00")
	assert.Assert(t, ok)
	assert.NilError(t, c.Prune())

	assert.Check(t, treeSize(t, dir) <= bound, "total %d over bound %d", treeSize(t, dir), bound)
	assert.Check(t, exists(paths[0]), "recently used entry-00 pruned")
	for i := 1; i <= 10; i++ {
		assert.Check(t, !exists(paths[i]), "least recently used entry-%02d kept", i)
	}
	for i := 11; i < 20; i++ {
		assert.Check(t, exists(paths[i]), "recent entry-%02d pruned", i)
	}

	// Pruning a cache within its bound deletes nothing.
	before := treeSize(t, dir)
	assert.NilError(t, c.Prune())
	assert.Check(t, is.Equal(treeSize(t, dir), before))

	// An unbounded cache is never pruned.
	assert.NilError(t, New(dir, -1).Prune())
	assert.Check(t, is.Equal(treeSize(t, dir), before))
}

func TestPruneTempFiles(t *testing.T) {
	dir := t.TempDir()
	base := time.Now().Add(-time.Hour)
	paths := fill(t, dir, 4, 1<<10, base)
	young := filepath.Join(dir, "manifests", tmpPrefix+"young")
	stale := filepath.Join(dir, "manifests", tmpPrefix+"stale")
	assert.NilError(t, os.WriteFile(young, make([]byte, 1<<10), 0o600))
	assert.NilError(t, os.WriteFile(stale, make([]byte, 1<<10), 0o600))
	old := time.Now().Add(-2 * time.Hour) // older than every entry
	assert.NilError(t, os.Chtimes(stale, old, old))

	// 6 KiB on disk, 3 KiB allowed: the stale temporary file and the two
	// oldest entries go; a temporary file being written stays.
	c := New(dir, 3<<10)
	assert.NilError(t, c.Prune())
	assert.Check(t, exists(young), "temporary file of a Put in progress removed")
	assert.Check(t, !exists(stale), "stale temporary file kept")
	assert.Check(t, !exists(paths[0]))
	assert.Check(t, !exists(paths[1]))
	assert.Check(t, exists(paths[2]))
	assert.Check(t, exists(paths[3]))
	assert.Check(t, treeSize(t, dir) <= 3<<10)
}

func TestAutoPrune(t *testing.T) {
	const bound = 10 << 10
	dir := t.TempDir()
	base := time.Now().Add(-time.Hour)
	// Exactly at the bound: written by another Cache value (as another
	// process would), so the new one must measure the tree on first Put.
	paths := fill(t, dir, 10, 1<<10, base)

	c := New(dir, bound)
	assert.NilError(t, c.Put("manifests", "new", make([]byte, 1<<10)))
	assert.Check(t, treeSize(t, dir) <= bound, "total %d over bound %d", treeSize(t, dir), bound)
	assert.Check(t, !exists(paths[0]), "oldest entry kept")
	for _, p := range paths[1:] {
		assert.Check(t, exists(p), "%s pruned", p)
	}
	assert.Check(t, exists(filepath.Join(dir, "manifests", "new")))

	// The running total keeps the bound across further Puts.
	for i := range 25 {
		assert.NilError(t, c.Put("inventories", fmt.Sprintf("i%d", i), make([]byte, 700)))
		assert.Assert(t, treeSize(t, dir) <= bound, "after Put %d: total %d over bound %d", i, treeSize(t, dir), bound)
	}
}

func TestGetTouches(t *testing.T) {
	c := New(t.TempDir(), 0)
	assert.NilError(t, c.Put("tokens", "k", []byte("v")))
	p := filepath.Join(c.Dir, "tokens", "k")
	old := time.Now().Add(-24 * time.Hour)
	assert.NilError(t, os.Chtimes(p, old, old))
	_, ok := c.Get("tokens", "k")
	assert.Assert(t, ok)
	fi, err := os.Stat(p)
	assert.NilError(t, err)
	assert.Check(t, time.Since(fi.ModTime()) < time.Hour, "mtime %v not touched", fi.ModTime())
}

func TestConcurrent(t *testing.T) {
	// A small bound makes the goroutines prune while others read and write.
	c := New(t.TempDir(), 16<<10)
	value := func(key string) []byte { return bytes.Repeat([]byte(key), 64) }
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for g := range 16 {
		wg.Go(func() {
			for i := range 40 {
				key := fmt.Sprintf("k%d", (g*7+i)%23)
				if err := c.Put("manifests", key, value(key)); err != nil {
					errs <- err
				}
				if got, ok := c.Get("manifests", key); ok && !bytes.Equal(got, value(key)) {
					errs <- fmt.Errorf("%s: got %d bytes of other content", key, len(got))
				}
				if err := c.PutJSON("tokens", key, map[string]int{key: i}); err != nil {
					errs <- err
				}
				var m map[string]int
				if c.GetJSON("tokens", key, &m) && len(m) != 1 {
					errs <- fmt.Errorf("%s: bad JSON %v", key, m)
				}
				b := value(key)
				if err := c.PutBlob(digest(b), b); err != nil {
					errs <- err
				}
				if got, ok := c.GetBlob(digest(b)); ok && !bytes.Equal(got, b) {
					errs <- fmt.Errorf("%s: bad blob", key)
				}
				if i%5 == 0 {
					c.Remove("manifests", key)
				}
				if i%13 == 0 {
					if err := c.Prune(); err != nil {
						errs <- err
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assert.NilError(t, c.Prune())
	assert.Check(t, treeSize(t, c.Dir) <= 16<<10)
}

func TestKey(t *testing.T) {
	tests := []struct {
		parts []string
		want  string
	}{
		// sha256 of "a\x00b" and of "".
		{parts: []string{"a", "b"}, want: "59b271ae1bbcb1d31d41929817f4b16fb439eb4f31520b5ad1d5ce98920a7138"},
		{parts: nil, want: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	}
	for _, tc := range tests {
		assert.Check(t, is.Equal(Key(tc.parts...), tc.want), "Key(%q)", tc.parts)
	}
	assert.Check(t, Key("ab") != Key("a", "b"), "separator ignored")
	assert.Check(t, Key("a", "bc") != Key("ab", "c"), "separator ignored")
	assert.Check(t, Key("a") != Key("a", ""), "empty part ignored")
	assert.Check(t, checkName("key", Key("https://registry/v2/", "repo:pull")) == nil)
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{in: "512MiB", want: 512 << 20},
		{in: "2GB", want: 2 << 30},
		{in: "100m", want: 100 << 20},
		{in: "1k", want: 1 << 10},
		{in: "4096", want: 4096},
		{in: " 1g ", want: 1 << 30},
		{in: "1.5GiB", want: 3 << 29},
		{in: "0", want: -1},
		{in: "0MiB", want: -1},
		{in: "", err: true},
		{in: "lots", err: true},
		{in: "-1", err: true},
		{in: "10 XB", err: true},
		{in: "99999999999999999999P", err: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSize(tc.in)
			if tc.err {
				assert.Check(t, is.ErrorContains(err, "cache: invalid size"))
				assert.Check(t, is.ErrorContains(err, fmt.Sprintf("%q", tc.in)))
				return
			}
			assert.NilError(t, err)
			assert.Check(t, is.Equal(got, tc.want))
		})
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("CGHISTORY_CACHE_DIR", "/somewhere/else")
	assert.Check(t, is.Equal(DefaultDir(), "/somewhere/else"))

	t.Setenv("CGHISTORY_CACHE_DIR", "")
	if base, err := os.UserCacheDir(); err == nil {
		assert.Check(t, is.Equal(DefaultDir(), filepath.Join(base, "docker-cghistory")))
	} else {
		assert.Check(t, is.Equal(DefaultDir(), ""))
	}
}

func TestNew(t *testing.T) {
	c := New("/x", 7)
	assert.Check(t, is.Equal(c.Dir, "/x"))
	assert.Check(t, is.Equal(c.MaxBytes, int64(7)))
	assert.Check(t, is.Equal(New("/x", 0).maxBytes(), DefaultMaxBytes))
	assert.Check(t, is.Equal(DefaultMaxBytes, int64(512*1024*1024)))
}
