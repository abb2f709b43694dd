package cache

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The cache only creates, chmods, prunes and deletes inside a directory it
// created (or found empty) and marked with a cache directory tag
// (https://bford.info/cachedir/), which backup tools honour. Any other
// directory the user names holds the cache in a subdirectory.
const (
	// subdirName is where the cache goes inside a directory that holds
	// other files: Dir/docker-cghistory.
	subdirName = "docker-cghistory"

	tagName      = "CACHEDIR.TAG"
	tagSignature = "Signature: 8a477f597d28d172789f06886806bc55"
	// tagMark tells the cache's own tag from another tool's.
	tagMark = "created by docker-cghistory"
	tagText = tagSignature + "\n" +
		"# This file is a cache directory tag " + tagMark + ".\n" +
		"# docker-cghistory prunes and deletes files only in directories tagged so.\n" +
		"# For information about cache directory tags, see https://bford.info/cachedir/\n"
	tagMode = fileMode // as every file of the cache; never taken for an entry by name
	// maxTag bounds the read of a tag: the spec's tags are a few lines.
	maxTag = 1 << 10
	// tagTmpPrefix starts the name of a tag being written; a directory
	// holding only such files is still empty, so that two processes setting
	// up one directory at once agree on it.
	tagTmpPrefix = tmpPrefix + tagName + "-"

	// sigstoreDir is the TUF cache sigstore-go keeps in the cache directory
	// (docker cgpin --verify); the cache never looks into it.
	sigstoreDir = "tuf"
	// maxLegacyEntries bounds the look at a directory that may be a cache
	// written before the tag existed: past it, it is not adopted.
	maxLegacyEntries = 1 << 20
	// maxEmptyEntries bounds the look at a directory that may be empty.
	maxEmptyEntries = 1 << 10
)

// legacyKinds are the kinds docker-cghistory wrote before the cache tagged
// its directory: a directory holding only these (and sigstoreDir), with the
// modes the cache set, is an old cache and is adopted.
var legacyKinds = map[string]bool{
	"blobs": true, "challenges": true, "completion": true, "completion-tags": true,
	"history": true, "inventories": true, "manifest-types": true, "manifests": true,
	"secdb": true, "secdb-validators": true, "signatures": true, "tokens": true,
}

// state is what the cache makes of a directory it may use.
type state int

const (
	absent  state = iota // nothing there yet: created and marked
	marked               // the user's own, with the cache's tag: used as is
	empty                // the user's own, empty, writable by no one else: marked
	legacy               // a cache written before the tag: marked
	foreign              // anything else: never used, never touched
)

// place is the directory the cache uses for a Dir.
type place struct {
	dir   string
	sub   bool // dir is Dir/docker-cghistory, which must not be a symbolic link
	state state
	id    fs.FileInfo // dir as choose found it; nil if absent
}

// choose finds where the cache of dir lives, changing nothing: dir itself
// when it is absent, marked, empty or an old cache, else its subdirectory
// docker-cghistory. Only the path the user named may be a symbolic link. A
// subdirectory that is not the user's own, or holds files that are not a
// cache, is an error.
func choose(dir string) (place, error) {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return place{dir: dir, state: absent}, nil
	}
	if err != nil {
		return place{}, fmt.Errorf("cache: %w", err)
	}
	if !fi.IsDir() {
		return place{}, refuse("%s is not a directory", dir)
	}
	if st, _, err := inspect(dir, false, fi); err != nil {
		return place{}, err
	} else if st != foreign {
		return place{dir: dir, state: st, id: fi}, nil
	}
	sub := filepath.Join(dir, subdirName)
	fi, err = os.Lstat(sub)
	if errors.Is(err, fs.ErrNotExist) {
		return place{dir: sub, sub: true, state: absent}, nil
	}
	if err != nil {
		return place{}, fmt.Errorf("cache: %w", err)
	}
	st, why, err := inspect(sub, true, fi)
	if err != nil {
		return place{}, err
	}
	if st == foreign {
		return place{}, refusal(dir, sub, why)
	}
	return place{dir: sub, sub: true, state: st, id: fi}, nil
}

// errRefused is in the errors for a directory the cache will not use.
var errRefused = errors.New("refusing to use it")

// refuse returns the error for a directory the cache will not use, with
// the reason and what to do.
func refuse(format string, args ...any) error {
	return fmt.Errorf("cache: %s: %w (point CGHISTORY_CACHE_DIR at a new directory of your own)",
		fmt.Sprintf(format, args...), errRefused)
}

// refusal explains why neither dir nor its subdirectory can hold the cache.
func refusal(dir, sub, why string) error {
	return refuse("%s holds other files, so the cache would go in %s, but that %s", dir, sub, why)
}

// inspect tells what the directory at path (fi from Stat, or Lstat for
// a subdirectory) is for the cache, and why a foreign one is. It changes
// nothing.
func inspect(path string, sub bool, fi fs.FileInfo) (state, string, error) {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return foreign, "is a symbolic link the cache did not make", nil
	case !fi.IsDir():
		return foreign, "is not a directory", nil
	}
	if uid, ours := owner(fi); !ours {
		return foreign, fmt.Sprintf("belongs to another user (uid %d)", uid), nil
	}
	r, opened, err := openDir(path, sub)
	if err != nil {
		return foreign, "", fmt.Errorf("cache: %s: %w", path, err)
	}
	defer r.Close()
	if !os.SameFile(fi, opened) {
		return foreign, "", fmt.Errorf("cache: %s: %w", path, errMoved)
	}
	switch {
	case hasTag(r):
		return marked, "", nil
	case !private(fi):
		return foreign, "is writable by other users and not a docker-cghistory cache", nil
	case isEmpty(r):
		return empty, "", nil
	case isLegacy(r, fi):
		return legacy, "", nil
	case hasTag(r):
		// Another process tagged it since the first look: its files came
		// after its tag.
		return marked, "", nil
	}
	return foreign, "holds files that are not a docker-cghistory cache", nil
}

// establish makes p.dir a marked cache directory of mode 0700: it creates
// it (and missing parents, 0700) if absent, and tags it, after checking
// again, now that it exists, that it is the user's own and empty, an old
// cache, or marked already. It returns the directory's identity.
func establish(p place) (fs.FileInfo, error) {
	if err := os.MkdirAll(p.dir, dirMode); err != nil {
		return nil, fmt.Errorf("cache: create directory: %w", err)
	}
	stat := os.Stat
	if p.sub {
		stat = os.Lstat
	}
	fi, err := stat(p.dir)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	st, why, err := inspect(p.dir, p.sub, fi)
	if err != nil {
		return nil, err
	}
	if st == foreign {
		return nil, refuse("%s %s", p.dir, why)
	}
	r, opened, err := openDir(p.dir, p.sub)
	if err != nil {
		return nil, fmt.Errorf("cache: %s: %w", p.dir, err)
	}
	defer r.Close()
	if !os.SameFile(fi, opened) {
		return nil, fmt.Errorf("cache: %s: %w", p.dir, errMoved)
	}
	if st != marked {
		if err := writeTag(r); err != nil {
			return nil, err
		}
	}
	if fi.Mode().Perm() != dirMode {
		if err := r.Chmod(".", dirMode); err != nil {
			return nil, fmt.Errorf("cache: set directory mode: %w", err)
		}
	}
	return fi, nil
}

// errMoved says a directory is no longer the one the cache looked at.
var errMoved = errors.New("the directory was replaced while the cache used it")

// openDir opens the directory dir, the user's own, as an os.Root and
// returns what it opened. With sub, dir must not be a symbolic link; the
// directory opened must be the one looked at.
func openDir(dir string, sub bool) (*os.Root, fs.FileInfo, error) {
	stat := os.Stat
	if sub {
		stat = os.Lstat
	}
	fi, err := stat(dir)
	if err != nil {
		return nil, nil, err
	}
	if !fi.IsDir() {
		return nil, nil, errors.New("not a directory (a symbolic link the cache did not make, or a file)")
	}
	if uid, ours := owner(fi); !ours {
		return nil, nil, fmt.Errorf("belongs to another user (uid %d)", uid)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, err
	}
	opened, err := r.Stat(".")
	if err != nil || !os.SameFile(fi, opened) {
		_ = r.Close()
		return nil, nil, errMoved
	}
	return r, fi, nil
}

// hasTag reports whether r holds the cache's tag: a small regular file of
// the user's own that starts with the spec's signature and names
// docker-cghistory.
func hasTag(r *os.Root) bool {
	fi, err := r.Lstat(tagName)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxTag {
		return false
	}
	if _, ours := owner(fi); !ours {
		return false
	}
	f, err := r.OpenFile(tagName, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTag))
	return err == nil && bytes.HasPrefix(b, []byte(tagSignature)) && bytes.Contains(b, []byte(tagMark))
}

// writeTag writes the cache's tag into r atomically, so that a process
// looking at the same directory sees no tag or the whole of it.
func writeTag(r *os.Root) (err error) {
	tmp := tagTmpPrefix + rand.Text()
	f, err := r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, tagMode)
	if err != nil {
		return fmt.Errorf("cache: write %s: %w", tagName, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = r.Remove(tmp)
		}
	}()
	if _, err := io.WriteString(f, tagText); err != nil {
		return fmt.Errorf("cache: write %s: %w", tagName, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cache: write %s: %w", tagName, err)
	}
	if err := r.Rename(tmp, tagName); err != nil {
		return fmt.Errorf("cache: write %s: %w", tagName, err)
	}
	return nil
}

// isTagTmp reports whether e is a tag being written by establish.
func isTagTmp(e fs.DirEntry) bool {
	return e.Type().IsRegular() && strings.HasPrefix(e.Name(), tagTmpPrefix)
}

// isEmpty reports whether r holds nothing but tags being written.
func isEmpty(r *os.Root) bool {
	budget := maxEmptyEntries
	return eachEntry(r, ".", &budget, isTagTmp)
}

// isLegacy reports whether r (fi describes it) is exactly a cache written
// before the tag existed: mode 0700, holding only legacyKinds directories
// of mode 0700 (and sigstore's TUF directory), which hold only regular
// files of mode 0600 with the names Put gives. All of it is the user's own
// and there are at most maxLegacyEntries entries.
func isLegacy(r *os.Root, fi fs.FileInfo) bool {
	if fi.Mode().Perm() != dirMode {
		return false
	}
	budget := maxLegacyEntries
	return eachEntry(r, ".", &budget, func(e fs.DirEntry) bool {
		if isTagTmp(e) {
			return true
		}
		info, err := e.Info()
		if err != nil || !e.IsDir() { // e.IsDir is false for a symbolic link
			return false
		}
		if _, ours := owner(info); !ours {
			return false
		}
		if e.Name() == sigstoreDir {
			return true
		}
		if !legacyKinds[e.Name()] || info.Mode().Perm() != dirMode {
			return false
		}
		return eachEntry(r, e.Name(), &budget, func(e fs.DirEntry) bool {
			if !e.Type().IsRegular() || !isEntryName(e.Name()) {
				return false
			}
			info, err := e.Info()
			return err == nil && written(info)
		})
	})
}

// isEntryName reports whether name is one Put gives a file: a valid key or
// a temporary file.
func isEntryName(name string) bool {
	return name != tagName && (strings.HasPrefix(name, tmpPrefix) || checkName("key", name) == nil)
}

// eachEntry calls fn for each entry of the directory name in r, reading it
// in batches, until fn returns false. It reports whether fn accepted every
// entry; a read error or more entries than *budget (which it decrements)
// also give false.
func eachEntry(r *os.Root, name string, budget *int, fn func(fs.DirEntry) bool) bool {
	f, err := r.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	for {
		entries, err := f.ReadDir(256)
		for _, e := range entries {
			*budget--
			if *budget < 0 || !fn(e) {
				return false
			}
		}
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
	}
}
