// Package pin plans and applies digest pins for the image references in
// Dockerfiles: it resolves every distinct reference once, concurrently, and
// writes all files atomically, or none.
package pin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aymanbagabas/go-udiff"
	"github.com/docker-cghistory/docker-cghistory/internal/dockerfile"
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"golang.org/x/sync/errgroup"
)

// Options control what a Plan changes.
type Options struct {
	// Update also moves existing tag@digest pins to the resolved digest.
	Update bool
	// Jobs bounds concurrent resolutions (default 8).
	Jobs int
}

// Change is one reference that gets a new digest, as typed values: where
// it is, what was written, taken apart, and what it becomes.
type Change struct {
	File string // as the user named it
	Line int
	// Start and End delimit the bytes of File that are replaced.
	Start, End int
	Kind       ref.Kind
	// Image is the reference as written, taken apart; Image.Digest is the
	// previous pin (zero for a first pin).
	Image ref.Image
	Old   string // the reference as written
	New   string // the reference as it will be written
	// Digest is the digest pinned now, of the index or, with Platform, of
	// that platform's image.
	Digest   v1.Hash
	Platform *v1.Platform
}

// Previous is the build pinned before the change, if there was one.
func (c Change) Previous() (name.Digest, bool) {
	return c.Image.At(c.Image.Digest), c.Image.Pinned()
}

// Next is the build pinned by the change.
func (c Change) Next() name.Digest { return c.Image.At(c.Digest) }

// Note is a reference left alone, and why.
type Note struct {
	File   string
	Line   int
	Ref    string
	Reason string
}

// FilePlan is one Dockerfile's before and after.
type FilePlan struct {
	Path    string // as the user named it
	Target  string // the file written (symlinks resolved)
	Mode    os.FileMode
	Old     []byte
	New     []byte
	Changes []Change
}

// Plan is what a pin run would do.
type Plan struct {
	Files []*FilePlan
	Notes []Note
	// Resolved counts distinct references resolved.
	Resolved int
}

// Changes lists every change, file by file.
func (p *Plan) Changes() []Change {
	var out []Change
	for _, f := range p.Files {
		out = append(out, f.Changes...)
	}
	return out
}

// Changed lists the files that would change.
func (p *Plan) Changed() []*FilePlan {
	var out []*FilePlan
	for _, f := range p.Files {
		if len(f.Changes) > 0 {
			out = append(out, f)
		}
	}
	return out
}

// LocatedError is a failure tied to a place in a file.
type LocatedError struct {
	File string
	Line int    // 0 when the whole file is at fault
	Ref  string // the reference, if any
	Err  error
}

func (e *LocatedError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Ref != "" {
		return fmt.Sprintf("%s: %s: %v", loc, e.Ref, e.Err)
	}
	return fmt.Sprintf("%s: %v", loc, e.Err)
}

func (e *LocatedError) Unwrap() error { return e.Err }

// pending is a reference waiting for its digest.
type pending struct {
	file *FilePlan
	ref  dockerfile.Ref
	img  ref.Image
	tag  name.Tag // what to follow
}

// Build reads files, finds their references and resolves them. It returns
// every error it met (each with file:line), and then no plan: a run that
// cannot resolve everything changes nothing.
func Build(ctx context.Context, files []string, r Resolver, opts Options) (*Plan, error) {
	if opts.Jobs <= 0 {
		opts.Jobs = 8
	}
	p := &Plan{}
	todo, errs := p.read(files, opts)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	// Resolve each distinct reference once.
	resolved := resolveAll(ctx, r, todo, opts.Jobs)
	p.Resolved = len(resolved)
	for _, t := range todo {
		if res := resolved[t.tag]; res.err != nil {
			errs = append(errs, &LocatedError{File: t.file.Path, Line: t.ref.Line, Ref: t.ref.Text, Err: res.err})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	// Edit each file.
	edits := map[*FilePlan][]dockerfile.Edit{}
	keeper, _ := r.(Keeper)
	for _, t := range todo {
		res := resolved[t.tag]
		d := res.Digest
		if t.img.Pinned() && t.img.Digest == d {
			continue
		}
		if keeper != nil && t.img.Pinned() && keeper.Keep(t.tag, t.img.Digest, d) {
			p.Notes = append(p.Notes, Note{File: t.file.Path, Line: t.ref.Line, Ref: t.ref.Text,
				Reason: "pinned to a newer build than the cooldown allows; not moved back"})
			continue
		}
		c := Change{File: t.file.Path, Line: t.ref.Line, Start: t.ref.Start, End: t.ref.End, Kind: t.ref.Kind,
			Image: t.img, Old: t.ref.Text, New: t.img.Pin(d), Digest: d, Platform: res.Platform}
		if t.img.Pinned() {
			c.Start = t.ref.DigestStart // only the digest is replaced
		}
		edits[t.file] = append(edits[t.file], dockerfile.Edit{Start: c.Start, End: c.End, Text: c.New[c.Start-t.ref.Start:]})
		t.file.Changes = append(t.file.Changes, c)
	}
	for _, f := range p.Files {
		f.New = f.Old
		if len(edits[f]) == 0 {
			continue
		}
		out, err := dockerfile.Apply(f.Old, edits[f])
		if err != nil {
			return nil, &LocatedError{File: f.Path, Err: err}
		}
		f.New = out
		slices.SortFunc(f.Changes, func(a, b Change) int { return a.Line - b.Line })
	}
	return p, nil
}

// read loads each file once (a symlink to a file already read is
// skipped), finds its references and classifies them: notes go to the
// plan, the references to resolve are returned, with every error met.
func (p *Plan) read(files []string, opts Options) ([]pending, []error) {
	var errs []error
	var todo []pending
	seenTargets := map[string]bool{}
	for _, path := range files {
		fp, err := readFile(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seenTargets[fp.Target] {
			continue // another name (a symlink) for a file already planned
		}
		seenTargets[fp.Target] = true
		found, err := dockerfile.Find(fp.Old)
		if err != nil {
			errs = append(errs, &LocatedError{File: path, Line: parseLine(err), Err: fmt.Errorf("cannot parse Dockerfile: %w", err)})
			continue
		}
		p.Files = append(p.Files, fp)
		for _, s := range found.Skipped {
			p.Notes = append(p.Notes, Note{File: path, Line: s.Line, Ref: s.Text, Reason: s.Reason})
		}
		for _, r := range found.Refs {
			pd, note, err := classify(fp, r, opts)
			switch {
			case err != nil:
				errs = append(errs, err)
			case note != nil:
				p.Notes = append(p.Notes, *note)
			case pd != nil:
				todo = append(todo, *pd)
			}
		}
	}
	return todo, errs
}

// classify decides what to do with one reference.
func classify(fp *FilePlan, r dockerfile.Ref, opts Options) (*pending, *Note, error) {
	img, err := ref.ParseImage(r.Text)
	if err != nil {
		return nil, nil, &LocatedError{File: fp.Path, Line: r.Line, Ref: r.Text, Err: err}
	}
	switch {
	case img.Pinned() && !opts.Update:
		return nil, nil, nil // already pinned; --update moves it
	case img.Pinned() && img.Tag == "":
		return nil, &Note{File: fp.Path, Line: r.Line, Ref: r.Text, Reason: "pinned by digest without a tag: nothing to follow"}, nil
	}
	return &pending{file: fp, ref: r, img: img, tag: img.Tagged()}, nil, nil
}

// resolved is one distinct tag's resolution.
type resolved struct {
	Resolution
	err error
}

// resolveAll resolves each distinct tag of todo once, jobs at a time,
// collecting every failure rather than stopping at the first.
func resolveAll(ctx context.Context, r Resolver, todo []pending, jobs int) map[name.Tag]resolved {
	var tags []name.Tag
	out := map[name.Tag]resolved{}
	for _, t := range todo {
		if _, ok := out[t.tag]; !ok {
			out[t.tag] = resolved{}
			tags = append(tags, t.tag)
		}
	}
	results := make([]resolved, len(tags))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for i, tag := range tags {
		g.Go(func() error {
			res, err := r.Resolve(gctx, tag)
			results[i] = resolved{Resolution: res, err: err}
			return nil // keep going: report every failure at once
		})
	}
	_ = g.Wait()
	for i, tag := range tags {
		out[tag] = results[i]
	}
	return out
}

// readFile loads a Dockerfile, refusing what is not a regular text file.
func readFile(path string) (*FilePlan, error) {
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, &LocatedError{File: path, Err: unwrapPathError(err)}
	}
	fi, err := os.Stat(target)
	if err != nil {
		return nil, &LocatedError{File: path, Err: unwrapPathError(err)}
	}
	if !fi.Mode().IsRegular() {
		return nil, &LocatedError{File: path, Err: fmt.Errorf("not a regular file (%s)", fi.Mode().Type())}
	}
	data, err := os.ReadFile(target)
	if err != nil {
		return nil, &LocatedError{File: path, Err: unwrapPathError(err)}
	}
	mode := fi.Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
	return &FilePlan{Path: path, Target: target, Mode: mode, Old: data}, nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// parseLine extracts the line number from a buildkit parse error.
func parseLine(err error) int {
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		return le.Locations[0][0].Start.Line
	}
	return 0
}

// Diff is a unified diff of every change.
func (p *Plan) Diff() string {
	var b strings.Builder
	for _, f := range p.Changed() {
		label := strings.TrimPrefix(filepath.ToSlash(f.Path), "/")
		b.WriteString(udiff.Unified("a/"+label, "b/"+label, string(f.Old), string(f.New)))
	}
	return b.String()
}
