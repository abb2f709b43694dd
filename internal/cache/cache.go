// Package cache is the one on-disk cache of docker-cghistory: registry
// tokens, auth challenges, manifests, blobs, package inventories and
// security databases are kept as files under one directory, bounded in size
// and pruned least-recently-used first.
//
// Values are stored by kind (a fixed short word such as "tokens" or
// "manifests") and key as Dir/kind/key, written atomically (temporary file
// plus rename) so that several processes can share the directory. Blobs are
// content-addressed and verified against their digest on every read.
//
// It is hand-written because no maintained library keeps a size-bounded,
// content-verified on-disk cache with owner-only file modes (0700
// directories, 0600 files) that is safe to share between processes; the
// whole of it is a thin layer over package os.
package cache

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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

// Cache stores byte values by kind and key under Dir, a 0700 directory tree
// of 0600 files. A nil *Cache or one with an empty Dir is a valid, disabled
// cache: every Get misses and every Put is a no-op. Set Dir and MaxBytes
// before first use; a Cache is then safe for concurrent use and must not be
// copied.
type Cache struct {
	// Dir is the root directory of the cache; "" disables the cache.
	Dir string
	// MaxBytes bounds the total size of the files under Dir: 0 means
	// DefaultMaxBytes and a negative value means unbounded.
	MaxBytes int64

	mu       sync.Mutex // guards measured and total, and serialises pruning
	measured bool       // total has been measured from the tree
	total    int64      // running estimate of the size of the files under Dir
}

// New returns a cache rooted at dir and bounded by maxBytes (see
// Cache.MaxBytes). An empty dir gives a disabled cache.
func New(dir string, maxBytes int64) *Cache {
	return &Cache{Dir: dir, MaxBytes: maxBytes}
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

// path returns Dir/kind/key after checking kind and key.
func (c *Cache) path(kind, key string) (string, error) {
	if err := checkName("kind", kind); err != nil {
		return "", err
	}
	if err := checkName("key", key); err != nil {
		return "", err
	}
	return filepath.Join(c.Dir, kind, key), nil
}

// Get returns the value stored under kind and key and marks it as recently
// used. A missing or unreadable entry, an invalid kind or key, and a
// disabled cache are all misses.
func (c *Cache) Get(kind, key string) ([]byte, bool) {
	if !c.enabled() {
		return nil, false
	}
	p, err := c.path(kind, key)
	if err != nil {
		return nil, false
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	touch(p)
	return b, true
}

// touch sets the modification time that Prune orders entries by; failing
// to do so only makes the entry look older.
func touch(p string) {
	now := time.Now()
	_ = os.Chtimes(p, now, now)
}

// Put stores b under kind and key, replacing any previous value. The file
// is written to a temporary file in the same directory and renamed into
// place, so readers (in any process) see the old value or the new one,
// never a part. Directories are created (or tightened) to 0700 and the file
// is 0600. When the cache grows over its bound, Put prunes it.
func (c *Cache) Put(kind, key string, b []byte) error {
	if !c.enabled() {
		return nil
	}
	p, err := c.path(kind, key)
	if err != nil {
		return err
	}
	dir := filepath.Dir(p)
	if err := ensureDir(c.Dir); err != nil {
		return err
	}
	if err := ensureDir(dir); err != nil {
		return err
	}
	var old int64
	if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
		old = fi.Size()
	}
	if err := writeAtomic(dir, p, b); err != nil {
		return err
	}
	return c.grow(int64(len(b)) - old)
}

// ensureDir creates dir (and its parents) as 0700, and tightens it to 0700
// if it already existed with another mode.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("cache: create directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("cache: create directory: %w", err)
	}
	if fi.Mode().Perm() != dirMode {
		if err := os.Chmod(dir, dirMode); err != nil {
			return fmt.Errorf("cache: set directory mode: %w", err)
		}
	}
	return nil
}

func writeAtomic(dir, p string, b []byte) (err error) {
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return fmt.Errorf("cache: create temporary file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err := f.Chmod(fileMode); err != nil {
		return fmt.Errorf("cache: set file mode: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		return fmt.Errorf("cache: write %s: %w", filepath.Base(p), err)
	}
	// No fsync: it would cost milliseconds per entry, and a torn entry
	// after a crash is harmless (blobs are verified by digest, JSON that does
	// not decode is a miss, and a secdb that does not parse is refetched).
	if err := f.Close(); err != nil {
		return fmt.Errorf("cache: write %s: %w", filepath.Base(p), err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("cache: store %s: %w", filepath.Base(p), err)
	}
	return nil
}

// grow adds delta to the running size estimate, measuring the tree on the
// first call, and prunes when the estimate goes over the bound.
func (c *Cache) grow(delta int64) error {
	limit := c.maxBytes()
	if limit < 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.measured {
		c.total += delta
	} else {
		files, err := c.scan()
		if err != nil {
			return err
		}
		c.total = sumSizes(files)
		c.measured = true
	}
	if c.total <= limit {
		return nil
	}
	return c.pruneLocked(limit)
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

// Remove deletes the entry stored under kind and key, if any.
func (c *Cache) Remove(kind, key string) {
	if !c.enabled() {
		return
	}
	p, err := c.path(kind, key)
	if err != nil {
		return
	}
	c.remove(p)
}

func (c *Cache) remove(p string) {
	fi, err := os.Lstat(p)
	if err != nil {
		return
	}
	if os.Remove(p) == nil && fi.Mode().IsRegular() {
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
	p := filepath.Join(c.Dir, blobKind, key)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	if sumHex(b) != d.Hex {
		c.remove(p)
		return nil, false
	}
	touch(p)
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

// Prune deletes files under Dir, least recently used (oldest modification
// time) first, until their total size is at most MaxBytes. Temporary files
// younger than a minute may belong to a Put in progress in another process
// and are left alone; older ones are leftovers and are deleted like entries.
func (c *Cache) Prune() error {
	if !c.enabled() {
		return nil
	}
	limit := c.maxBytes()
	if limit < 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pruneLocked(limit)
}

// file is one regular file found under Dir.
type file struct {
	path  string
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

// scan lists the regular files under Dir. Files that vanish while it runs
// are skipped; a missing Dir is empty.
func (c *Cache) scan() ([]file, error) {
	var files []file
	err := filepath.WalkDir(c.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		files = append(files, file{
			path:  p,
			size:  fi.Size(),
			mtime: fi.ModTime(),
			tmp:   strings.HasPrefix(d.Name(), tmpPrefix),
		})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cache: measure %s: %w", c.Dir, err)
	}
	return files, nil
}

// pruneLocked re-measures the tree and deletes files until it fits in
// limit. c.mu must be held.
func (c *Cache) pruneLocked(limit int64) error {
	files, err := c.scan()
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
		return cmp.Compare(a.path, b.path)
	})
	var errs []error
	for _, f := range files {
		if total <= limit {
			break
		}
		err := os.Remove(f.path)
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
