package pin

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sync/errgroup"
)

// Write applies the plan atomically: every changed file is first written to
// a temporary file beside it (same mode), and only when all of them are
// written are they renamed over the originals. Symlinks keep pointing at
// their (edited) targets. On any failure before the renames, nothing changes.
func (p *Plan) Write() error {
	changed := p.Changed()
	tmps := make([]string, len(changed))
	errs := make([]error, len(changed))
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
	for i, f := range changed {
		if err := os.Rename(tmps[i], f.Target); err != nil {
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
	// The original must not have changed since it was read.
	cur, err := os.ReadFile(f.Target)
	if err != nil {
		return "", err
	}
	if string(cur) != string(f.Old) {
		return "", fmt.Errorf("changed on disk while pinning; run again")
	}
	return writeTemp(f, f.New)
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
