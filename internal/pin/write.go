package pin

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sync/errgroup"
)

// beforeRename, when set (by tests), runs between staging and renaming,
// where another program may write a file.
var beforeRename func(f *FilePlan)

// Write applies the plan atomically: every changed file is first written to
// a temporary file beside it (same mode), and only when all of them are
// written are they renamed over the originals, each checked again (size,
// modification time and content) just before its rename: if one changed
// since it was read, the files already renamed are put back and the error
// names it. Symlinks keep pointing at their (edited) targets. On any
// failure, nothing changes. A file the user may not write (0444) is an
// error before anything is written. Temporary files a killed run left
// beside the files read are removed first.
func (p *Plan) Write() error {
	changed := p.Changed()
	var errs []error
	for _, f := range changed {
		if fi, err := os.Stat(f.Target); err == nil && !writable(f.Target, fi) {
			errs = append(errs, &LocatedError{File: f.Path, Err: fmt.Errorf("not writable (mode %#o); nothing written: make it writable, or leave it out with --exclude", fi.Mode().Perm())})
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	p.removeStaleTemps()
	tmps := make([]string, len(changed))
	errs = make([]error, len(changed))
	// Stage concurrently: each staged file is fsynced, which dominates the
	// time of a large run.
	var g errgroup.Group
	g.SetLimit(8)
	for i, f := range changed {
		g.Go(func() error {
			tmps[i], errs[i] = stage(f)
			return nil
		})
	}
	_ = g.Wait()
	if err := errors.Join(errs...); err != nil {
		for i, tmp := range tmps {
			if tmp != "" {
				_ = os.Remove(tmp)
			}
			if errs[i] != nil {
				errs[i] = &LocatedError{File: changed[i].Path, Err: errs[i]}
			}
		}
		return errors.Join(errs...)
	}
	if beforeRename != nil {
		for _, f := range changed {
			beforeRename(f)
		}
	}
	for i, f := range changed {
		err := unchanged(f)
		if err == nil {
			err = os.Rename(tmps[i], f.Target)
		}
		if err != nil {
			for _, tmp := range tmps[i:] {
				_ = os.Remove(tmp)
			}
			return errors.Join(&LocatedError{File: f.Path, Err: err}, rollback(changed[:i]))
		}
	}
	return nil
}

// rollback puts back the files already replaced when a later rename failed,
// so that a failed run leaves every file as it was.
func rollback(done []*FilePlan) error {
	var errs []error
	for _, f := range done {
		tmp, err := writeTemp(f, f.Old)
		if err == nil {
			err = os.Rename(tmp, f.Target)
		}
		if err != nil {
			_ = os.Remove(tmp)
			errs = append(errs, &LocatedError{File: f.Path, Err: fmt.Errorf("could not restore it after the failure: %w", err)})
		}
	}
	return errors.Join(errs...)
}

func stage(f *FilePlan) (string, error) {
	if err := unchanged(f); err != nil {
		return "", err
	}
	return writeTemp(f, f.New)
}

// unchanged checks that f's target is still the file read: the same file,
// size and modification time, and the same content.
func unchanged(f *FilePlan) error {
	fi, err := os.Stat(f.Target)
	if err != nil {
		return err
	}
	var what string
	switch {
	case f.info != nil && !os.SameFile(fi, f.info):
		what = "replaced by another file"
	case fi.Size() != int64(len(f.Old)):
		what = fmt.Sprintf("%d bytes, was %d", fi.Size(), len(f.Old))
	case f.info != nil && !fi.ModTime().Equal(f.info.ModTime()):
		what = "modified at " + fi.ModTime().Format("15:04:05.000")
	default:
		cur, err := readAtMost(f.Target, int64(len(f.Old))+1)
		if err != nil {
			return err
		}
		if bytes.Equal(cur, f.Old) {
			return nil
		}
		what = "its content differs"
	}
	return fmt.Errorf("changed on disk while cgpin ran (%s); nothing written: run again", what)
}

func readAtMost(path string, n int64) ([]byte, error) {
	f, err := openRead(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, n))
}

// removeStaleTemps removes the temporary files a killed run left beside
// the files read (".NAME.cgpin-DIGITS" beside NAME, a regular file with
// one link and NAME's owner); nothing else.
func (p *Plan) removeStaleTemps() {
	byDir := map[string]map[string]os.FileInfo{}
	for _, f := range p.Files {
		if f.info == nil {
			continue
		}
		dir, base := filepath.Split(f.Target)
		if byDir[dir] == nil {
			byDir[dir] = map[string]os.FileInfo{}
		}
		byDir[dir][base] = f.info
	}
	for dir, bases := range byDir {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			m := tempName.FindStringSubmatch(e.Name())
			if m == nil || bases[m[1]] == nil || !e.Type().IsRegular() {
				continue
			}
			path := filepath.Join(dir, e.Name())
			if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() && links(fi) == 1 && ownedAlike(fi, bases[m[1]]) {
				_ = os.Remove(path)
			}
		}
	}
}

// writeTemp writes data to a new temporary file beside f's target with the
// target's mode (and owner, where we may set it), synced to disk.
func writeTemp(f *FilePlan, data []byte) (string, error) {
	dir, base := filepath.Split(f.Target)
	tmp, err := os.CreateTemp(dir, "."+base+".cgpin-*")
	if err != nil {
		return "", err
	}
	name := tmp.Name()
	fail := func(err error) (string, error) {
		tmp.Close()
		os.Remove(name)
		return "", err
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(err)
	}
	// Owner first: chown clears the setuid and setgid bits.
	if err := sameOwner(tmp, f.Target); err != nil {
		return fail(err)
	}
	if err := tmp.Chmod(f.Mode); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}
