package pin

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Write applies the plan atomically: every changed file is first written to
// a temporary file beside it (same mode), and only when all of them are
// written are they renamed over the originals. Symlinks keep pointing at
// their (edited) targets. On any failure before the renames, nothing changes.
func (p *Plan) Write() error {
	type staged struct {
		f   *FilePlan
		tmp string
	}
	var done []staged
	cleanup := func() {
		for _, s := range done {
			_ = os.Remove(s.tmp)
		}
	}
	for _, f := range p.Changed() {
		tmp, err := stage(f)
		if err != nil {
			cleanup()
			return &LocatedError{File: f.Path, Err: err}
		}
		done = append(done, staged{f, tmp})
	}
	var errs []error
	for _, s := range done {
		if err := os.Rename(s.tmp, s.f.Target); err != nil {
			_ = os.Remove(s.tmp)
			errs = append(errs, &LocatedError{File: s.f.Path, Err: err})
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
	if _, err := tmp.Write(f.New); err != nil {
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
