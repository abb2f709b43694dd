// Package cache is the one on-disk cache of docker-cghistory: registry
// tokens, auth challenges, manifests, blobs, package inventories and
// security databases are kept as files under one directory, bounded in size
// and pruned least-recently-used first.
//
// Values are stored by kind (a fixed short word such as "tokens" or
// "manifests") and key as kind/key in the cache's directory, written
// atomically (temporary file plus rename) so that several processes can
// share the directory. Blobs are content-addressed and verified against
// their digest on every read.
//
// The cache creates, chmods, prunes and deletes only inside a directory it
// created, or found empty, and tagged (CACHEDIR.TAG); a directory holding
// other files gets the cache in its docker-cghistory subdirectory. Every
// access goes through an os.Root, so no symbolic link leads it out of that
// directory, and pruning deletes only files laid out and moded as Put
// writes them.
//
// It is hand-written because no maintained library keeps a size-bounded,
// content-verified on-disk cache with owner-only file modes (0700
// directories, 0600 files) that is safe to share between processes; the
// whole of it is a thin layer over package os.
package cache

import (
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docker/go-units"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DefaultMaxBytes is the size bound used when Cache.MaxBytes is 0: 512 MiB.
const DefaultMaxBytes int64 = 512 << 20

const (
	dirMode  fs.FileMode = 0o700
	fileMode fs.FileMode = 0o600

	// tmpPrefix starts the name of a file being written by Put.
	tmpPrefix = ".tmp-"
	// tmpGrace is how long Prune leaves a temporary file alone: a younger
	// one may still be being written by a Put in another process.
	tmpGrace = time.Minute

	blobKind = "blobs"
	blobAlgo = "sha256"
)

// Cache stores byte values by kind and key in a 0700 directory tree of 0600
// files: Dir itself when it is absent, empty, or tagged as a cache already,
// else Dir/docker-cghistory. A nil *Cache or one with an empty Dir is a
// valid, disabled cache: every Get misses and every Put is a no-op. Set Dir
// and MaxBytes before first use; a Cache is then safe for concurrent use
// and must not be copied.
type Cache struct {
	// Dir is the directory the user named for the cache; "" disables the
	// cache.
	Dir string
	// MaxBytes bounds the total size of the cache's entries: 0 means
	// DefaultMaxBytes and a negative value means unbounded.
	MaxBytes int64

	named       string     // the directory the user named, when Open set Dir to root
	rootMu      sync.Mutex // guards root and established
	root        place      // the directory the cache uses, once known
	established bool       // root exists and is tagged

	mu       sync.Mutex // guards measured and total, and serialises pruning
	measured bool       // total has been measured from the tree
	total    int64      // running estimate of the size of the entries
}

// New returns a cache for dir, bounded by maxBytes (see Cache.MaxBytes).
// Nothing is created until the first Put. An empty dir gives a disabled
// cache.
func New(dir string, maxBytes int64) *Cache {
	return &Cache{Dir: dir, MaxBytes: maxBytes}
}

// Open returns a cache for dir, bounded by maxBytes, after setting up its
// directory, so that a directory the cache refuses (a file, another user's
// directory, a docker-cghistory subdirectory that is a symbolic link or
// not a cache) is an error now. The result's Dir is the directory the
// cache uses: dir, or dir/docker-cghistory when dir holds other files. A
// directory that cannot be created (a read-only file system) is no error:
// as with New, the cache tries again on Put, and its Gets miss. An empty
// dir gives a disabled cache.
func Open(dir string, maxBytes int64) (*Cache, error) {
	c := New(dir, maxBytes)
	if !c.enabled() {
		return c, nil
	}
	root, err := c.rootDir(true)
	if errors.Is(err, errRefused) {
		return nil, err
	}
	if err != nil {
		return New(dir, maxBytes), nil
	}
	return &Cache{Dir: root.dir, MaxBytes: maxBytes, named: dir, root: root, established: true}, nil
}

// DefaultDir returns $CGHISTORY_CACHE_DIR if it is set, else
// docker-cghistory under os.UserCacheDir, else "" (a disabled cache).
func DefaultDir() string {
	if d := os.Getenv("CGHISTORY_CACHE_DIR"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil && d != "" {
		return filepath.Join(d, "docker-cghistory")
	}
	return ""
}

// ParseSize reads a size bound such as "512MiB", "2GB" or "100m" (binary
// units, as docker's --memory flag: "2GB" is 2 GiB) for use as MaxBytes.
// "0" means unbounded and is returned as -1.
func ParseSize(s string) (int64, error) {
	n, err := units.RAMInBytes(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("cache: invalid size %q: %w", s, err)
	}
	if n < 0 { // a float too large for int64
		return 0, fmt.Errorf("cache: invalid size %q: out of range", s)
	}
	if n == 0 {
		return -1, nil
	}
	return n, nil
}

// Key hashes arbitrary parts into a name that is safe as a key: the hex
// sha256 of the parts joined with NUL separators.
func Key(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])
}

func (c *Cache) enabled() bool { return c != nil && c.Dir != "" }

func (c *Cache) maxBytes() int64 {
	if c.MaxBytes == 0 {
		return DefaultMaxBytes
	}
	return c.MaxBytes
}

// checkName rejects kinds and keys that could leave their directory or
// clash with temporary files.
func checkName(what, s string) error {
	switch {
	case s == "",
		strings.HasPrefix(s, "."),
		strings.Contains(s, ".."),
		strings.ContainsAny(s, "/\\\x00"),
		strings.ContainsRune(s, filepath.Separator):
		return fmt.Errorf("cache: invalid %s %q", what, s)
	}
	return nil
}

// entry returns the name of kind/key inside the cache's directory after
// checking kind and key.
func entry(kind, key string) (string, error) {
	if err := checkName("kind", kind); err != nil {
		return "", err
	}
	if err := checkName("key", key); err != nil {
		return "", err
	}
	return filepath.Join(kind, key), nil
}

// rootDir returns the directory the cache uses. With create, it is set up
// (created and tagged, see establish) on the first call; without, it may
// not exist yet, which reads take as a miss.
func (c *Cache) rootDir(create bool) (place, error) {
	c.rootMu.Lock()
	defer c.rootMu.Unlock()
	if c.root.dir != "" && (c.established || !create) {
		return c.root, nil
	}
	named := c.Dir
	if c.named != "" {
		named = c.named
	}
	p, err := choose(named)
	if err != nil {
		return place{}, err
	}
	if !create {
		c.root = p // looked at once: reads need not walk an old cache again
		return p, nil
	}
	if p.id, err = establish(p); err != nil {
		return place{}, err
	}
	p.state = marked
	c.root, c.established = p, true
	return p, nil
}

// openRoot opens the directory the cache uses (see rootDir), checking each
// time that it is still the user's own directory it was (not a symbolic
// link, for a subdirectory). When it was deleted or replaced since, it is
// looked for (and, with create, set up) again, as on first use.
func (c *Cache) openRoot(create bool) (*os.Root, error) {
	for again := false; ; again = true {
		p, err := c.rootDir(create)
		if err != nil {
			return nil, err
		}
		r, fi, err := openDir(p.dir, p.sub)
		if err == nil {
			if p.id == nil || os.SameFile(p.id, fi) {
				return r, nil
			}
			_ = r.Close()
			err = errMoved
		}
		if again || p.id == nil {
			return nil, fmt.Errorf("cache: %s: %w", p.dir, err)
		}
		c.rootMu.Lock()
		if c.root.dir == p.dir {
			c.root, c.established = place{}, false
		}
		c.rootMu.Unlock()
	}
}

// openTagged opens the directory the cache uses for pruning or deleting:
// only one that carries the cache's tag now.
func (c *Cache) openTagged() (*os.Root, bool) {
	r, err := c.openRoot(false)
	if err != nil {
		return nil, false
	}
	if !hasTag(r) {
		_ = r.Close()
		return nil, false
	}
	return r, true
}

// Get returns the value stored under kind and key and marks it as recently
// used. A missing or unreadable entry, an invalid kind or key, and a
// disabled cache are all misses.
func (c *Cache) Get(kind, key string) ([]byte, bool) {
	if !c.enabled() {
		return nil, false
	}
	name, err := entry(kind, key)
	if err != nil {
		return nil, false
	}
	r, err := c.openRoot(false)
	if err != nil {
		return nil, false
	}
	defer r.Close()
	return c.read(r, name)
}

// read returns the content of the regular file name in r, marking it as
// recently used. A file larger than the cache's bound is no entry of it.
func (c *Cache) read(r *os.Root, name string) ([]byte, bool) {
	f, err := r.OpenFile(name, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil, false
	}
	if limit := c.maxBytes(); limit >= 0 && fi.Size() > limit {
		return nil, false
	}
	b, err := io.ReadAll(io.LimitReader(f, fi.Size()))
	if err != nil {
		return nil, false
	}
	touch(r, name)
	return b, true
}

// touch sets the modification time that Prune orders entries by; failing
// to do so only makes the entry look older.
func touch(r *os.Root, name string) {
	now := time.Now()
	_ = r.Chtimes(name, now, now)
}

// Put stores b under kind and key, replacing any previous value. The file
// is written to a temporary file in the same directory and renamed into
// place, so readers (in any process) see the old value or the new one,
// never a part. The cache's directory is set up on the first Put (see
// Open); the kind's directory is created (or tightened) to 0700 and the
// file is 0600. When the cache grows over its bound, Put prunes it.
func (c *Cache) Put(kind, key string, b []byte) error {
	if !c.enabled() {
		return nil
	}
	name, err := entry(kind, key)
	if err != nil {
		return err
	}
	r, err := c.openRoot(true)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := ensureDir(r, kind); err != nil {
		return err
	}
	var old int64
	if fi, err := r.Lstat(name); err == nil && fi.Mode().IsRegular() {
		old = fi.Size()
	}
	if err := writeAtomic(r, kind, name, b); err != nil {
		return err
	}
	return c.grow(r, int64(len(b))-old)
}

// ensureDir creates the directory name in r as 0700, and tightens it to
// 0700 if it already existed with another mode. Anything else by that name
// (a symbolic link, a file) is an error.
func ensureDir(r *os.Root, name string) error {
	if err := r.Mkdir(name, dirMode); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("cache: create directory: %w", err)
	}
	fi, err := r.Lstat(name)
	if err != nil {
		return fmt.Errorf("cache: create directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("cache: %s in %s is not a directory", name, r.Name())
	}
	if fi.Mode().Perm() != dirMode {
		if err := r.Chmod(name, dirMode); err != nil {
			return fmt.Errorf("cache: set directory mode: %w", err)
		}
	}
	return nil
}

func writeAtomic(r *os.Root, dir, name string, b []byte) (err error) {
	tmp := filepath.Join(dir, tmpPrefix+rand.Text())
	f, err := r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return fmt.Errorf("cache: create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = r.Remove(tmp)
		}
	}()
	if err := f.Chmod(fileMode); err != nil {
		return fmt.Errorf("cache: set file mode: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		return fmt.Errorf("cache: write %s: %w", filepath.Base(name), err)
	}
	// No fsync: it would cost milliseconds per entry, and a torn entry
	// after a crash is harmless (blobs are verified by digest, JSON that does
	// not decode is a miss, and a secdb that does not parse is refetched).
	if err := f.Close(); err != nil {
		return fmt.Errorf("cache: write %s: %w", filepath.Base(name), err)
	}
	if err := r.Rename(tmp, name); err != nil {
		return fmt.Errorf("cache: store %s: %w", filepath.Base(name), err)
	}
	return nil
}

// grow adds delta to the running size estimate, measuring the tree on the
// first call, and prunes when the estimate goes over the bound.
func (c *Cache) grow(r *os.Root, delta int64) error {
	limit := c.maxBytes()
	if limit < 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.measured {
		c.total += delta
	} else {
		files, err := scan(r)
		if err != nil {
			return err
		}
		c.total = sumSizes(files)
		c.measured = true
	}
	if c.total <= limit {
		return nil
	}
	return c.pruneLocked(r, limit)
}

// GetJSON decodes the value stored under kind and key into v. A value that
// does not decode is a miss and is removed; v may then be partly set.
func (c *Cache) GetJSON(kind, key string, v any) bool {
	b, ok := c.Get(kind, key)
	if !ok {
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		c.Remove(kind, key)
		return false
	}
	return true
}

// PutJSON stores v, encoded as JSON, under kind and key.
func (c *Cache) PutJSON(kind, key string, v any) error {
	if !c.enabled() {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("cache: encode %s/%s: %w", kind, key, err)
	}
	return c.Put(kind, key, b)
}

// Remove deletes the entry stored under kind and key, if any, in a
// directory tagged as the cache's.
func (c *Cache) Remove(kind, key string) {
	if !c.enabled() {
		return
	}
	name, err := entry(kind, key)
	if err != nil {
		return
	}
	if r, ok := c.openTagged(); ok {
		defer r.Close()
		c.remove(r, name)
	}
}

// remove deletes the file name in r if it is an entry Put wrote. r must be
// tagged.
func (c *Cache) remove(r *os.Root, name string) {
	fi, err := r.Lstat(name)
	if err != nil || !fi.Mode().IsRegular() || !written(fi) {
		return
	}
	if r.Remove(name) == nil {
		c.mu.Lock()
		if c.measured {
			c.total -= fi.Size()
		}
		c.mu.Unlock()
	}
}

// blobKey returns the key of a blob, or an error for a digest that is not
// a well-formed sha256.
func blobKey(d v1.Hash) (string, error) {
	if d.Algorithm != blobAlgo {
		return "", fmt.Errorf("cache: unsupported digest algorithm in %q", d.String())
	}
	if len(d.Hex) != 2*sha256.Size || strings.Trim(d.Hex, "0123456789abcdef") != "" {
		return "", fmt.Errorf("cache: invalid digest %q", d.String())
	}
	return blobAlgo + "-" + d.Hex, nil
}

func sumHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// GetBlob returns the blob with digest d after checking that the bytes read
// hash to d. Digests other than sha256 miss. An entry whose content does not
// match is removed and misses, so that it is fetched again, never used.
func (c *Cache) GetBlob(d v1.Hash) ([]byte, bool) {
	if !c.enabled() {
		return nil, false
	}
	key, err := blobKey(d)
	if err != nil {
		return nil, false
	}
	r, err := c.openRoot(false)
	if err != nil {
		return nil, false
	}
	defer r.Close()
	name := filepath.Join(blobKind, key)
	b, ok := c.read(r, name)
	if !ok {
		return nil, false
	}
	if sumHex(b) != d.Hex {
		if hasTag(r) {
			c.remove(r, name)
		}
		return nil, false
	}
	return b, true
}

// PutBlob stores b as the blob with digest d. It refuses, with an error,
// bytes that do not hash to d and digests other than sha256.
func (c *Cache) PutBlob(d v1.Hash, b []byte) error {
	if !c.enabled() {
		return nil
	}
	key, err := blobKey(d)
	if err != nil {
		return err
	}
	if got := sumHex(b); got != d.Hex {
		return fmt.Errorf("cache: blob content does not match %s: got %s:%s", d, blobAlgo, got)
	}
	return c.Put(blobKind, key, b)
}

// Prune deletes entries, least recently used (oldest modification time)
// first, until their total size is at most MaxBytes. Temporary files
// younger than a minute may belong to a Put in progress in another process
// and are left alone; older ones are leftovers and are deleted like entries.
// Only a directory tagged as the cache's is pruned, and in it only files
// laid out and moded as Put writes them (kind/key, the user's own, 0600);
// anything else is neither counted nor deleted.
func (c *Cache) Prune() error {
	if !c.enabled() {
		return nil
	}
	limit := c.maxBytes()
	if limit < 0 {
		return nil
	}
	r, ok := c.openTagged()
	if !ok {
		return nil // no cache (yet): nothing of the cache's to prune
	}
	defer r.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pruneLocked(r, limit)
}

// file is one entry found in the cache's directory.
type file struct {
	name  string // kind/key in the cache's directory
	size  int64
	mtime time.Time
	tmp   bool // a temporary file of Put
}

func sumSizes(files []file) int64 {
	var n int64
	for _, f := range files {
		n += f.size
	}
	return n
}

// scan lists the entries in r: the regular files kind/key (or temporary
// files kind/.tmp-*) of the user's own with mode 0600, two levels down,
// never following a symbolic link. Other files, deeper directories,
// sigstore's TUF directory and a kind directory holding a CACHEDIR.TAG
// (another cache inside this one) are not the cache's and are left out. Files that vanish while it runs
// are skipped.
func scan(r *os.Root) ([]file, error) {
	fsys := r.FS()
	kinds, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("cache: measure %s: %w", r.Name(), err)
	}
	var files []file
	for _, k := range kinds {
		if !k.IsDir() || checkName("kind", k.Name()) != nil || k.Name() == sigstoreDir { // IsDir is false for a symbolic link
			continue
		}
		entries, err := fs.ReadDir(fsys, k.Name())
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cache: measure %s: %w", r.Name(), err)
		}
		if slices.ContainsFunc(entries, func(e fs.DirEntry) bool { return e.Name() == tagName }) {
			continue
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || !isEntryName(e.Name()) {
				continue
			}
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("cache: measure %s: %w", r.Name(), err)
			}
			if !written(fi) {
				continue
			}
			files = append(files, file{
				name:  filepath.Join(k.Name(), e.Name()),
				size:  fi.Size(),
				mtime: fi.ModTime(),
				tmp:   strings.HasPrefix(e.Name(), tmpPrefix),
			})
		}
	}
	return files, nil
}

// pruneLocked re-measures the tree in r and deletes entries until it fits
// in limit, after checking that r carries the cache's tag. c.mu must be
// held.
func (c *Cache) pruneLocked(r *os.Root, limit int64) error {
	if !hasTag(r) {
		return fmt.Errorf("cache: %s has no %s of docker-cghistory: not pruning it", r.Name(), tagName)
	}
	files, err := scan(r)
	if err != nil {
		return err
	}
	total := sumSizes(files)
	c.total, c.measured = total, true
	if total <= limit {
		return nil
	}
	cutoff := time.Now().Add(-tmpGrace)
	files = slices.DeleteFunc(files, func(f file) bool {
		return f.tmp && f.mtime.After(cutoff)
	})
	slices.SortFunc(files, func(a, b file) int {
		// Oldest first; stale temporary files are deleted like entries.
		if r := a.mtime.Compare(b.mtime); r != 0 {
			return r
		}
		return cmp.Compare(a.name, b.name)
	})
	var errs []error
	for _, f := range files {
		if total <= limit {
			break
		}
		err := r.Remove(f.name)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		total -= f.size
	}
	c.total = total
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cache: prune: %w", err)
	}
	return nil
}
