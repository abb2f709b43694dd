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

// Change is one reference that gets a new digest.
type Change struct {
	File   string // as the user named it
	Line   int
	Kind   dockerfile.Kind
	Old    string // the reference as written
	New    string // the reference as it will be written
	Digest v1.Hash
}

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
	tag  name.Tag
	key  string
}

// Build reads files, finds their references and resolves them. It returns
// every error it met (each with file:line), and then no plan: a run that
// cannot resolve everything changes nothing.
func Build(ctx context.Context, files []string, r Resolver, opts Options) (*Plan, error) {
	if opts.Jobs <= 0 {
		opts.Jobs = 8
	}
	p := &Plan{}
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
		for _, ref := range found.Refs {
			pd, note, err := classify(fp, ref, opts)
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
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	// Resolve each distinct reference once.
	digests := map[string]v1.Hash{}
	var keys []string
	tags := map[string]name.Tag{}
	for _, t := range todo {
		if _, ok := tags[t.key]; !ok {
			tags[t.key] = t.tag
			keys = append(keys, t.key)
		}
	}
	resolveErrs := make([]error, len(keys))
	results := make([]v1.Hash, len(keys))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Jobs)
	for i, k := range keys {
		g.Go(func() error {
			d, err := r.Resolve(gctx, tags[k])
			results[i], resolveErrs[i] = d, err
			return nil // keep going: report every failure at once
		})
	}
	_ = g.Wait()
	failed := map[string]error{}
	for i, k := range keys {
		if resolveErrs[i] != nil {
			failed[k] = resolveErrs[i]
		} else {
			digests[k] = results[i]
		}
	}
	p.Resolved = len(keys)
	for _, t := range todo {
		if err, ok := failed[t.key]; ok {
			errs = append(errs, &LocatedError{File: t.file.Path, Line: t.ref.Line, Ref: t.ref.Text, Err: err})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	// Edit each file.
	edits := map[*FilePlan][]dockerfile.Edit{}
	keeper, _ := r.(Keeper)
	for _, t := range todo {
		d := digests[t.key]
		if keeper != nil && t.ref.DigestStart >= 0 {
			pinned, err := v1.NewHash(t.ref.Text[t.ref.DigestStart-t.ref.Start+1:])
			if err == nil && pinned != d && keeper.Keep(t.tag, pinned, d) {
				p.Notes = append(p.Notes, Note{File: t.file.Path, Line: t.ref.Line, Ref: t.ref.Text,
					Reason: "pinned to a newer build than the cooldown allows; not moved back"})
				continue
			}
		}
		e, newText, changed := edit(t.ref, d)
		if !changed {
			continue
		}
		edits[t.file] = append(edits[t.file], e)
		t.file.Changes = append(t.file.Changes, Change{
			File: t.file.Path, Line: t.ref.Line, Kind: t.ref.Kind, Old: t.ref.Text, New: newText, Digest: d,
		})
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

// classify decides what to do with one reference.
func classify(fp *FilePlan, ref dockerfile.Ref, opts Options) (*pending, *Note, error) {
	text := ref.Text
	hasDigest := ref.DigestStart >= 0
	base := text
	if hasDigest {
		base = text[:ref.DigestStart-ref.Start]
	}
	if hasDigest {
		if _, err := v1.NewHash(text[ref.DigestStart-ref.Start+1:]); err != nil {
			return nil, nil, &LocatedError{File: fp.Path, Line: ref.Line, Ref: text, Err: fmt.Errorf("invalid digest: %w", err)}
		}
	}
	parsed, err := name.ParseReference(base, name.WeakValidation)
	if err != nil {
		return nil, nil, &LocatedError{File: fp.Path, Line: ref.Line, Ref: text, Err: fmt.Errorf("invalid image reference: %w", err)}
	}
	tag, _ := parsed.(name.Tag)
	explicitTag := tag.TagStr() != "" && strings.Contains(lastSegment(base), ":")
	switch {
	case hasDigest && !opts.Update:
		return nil, nil, nil // already pinned; --update moves it
	case hasDigest && !explicitTag:
		return nil, &Note{File: fp.Path, Line: ref.Line, Ref: text, Reason: "pinned by digest without a tag: nothing to follow"}, nil
	}
	return &pending{file: fp, ref: ref, tag: tag, key: tag.Name()}, nil, nil
}

func lastSegment(s string) string {
	if i := strings.LastIndex(s, "/"); i >= 0 {
		return s[i+1:]
	}
	return s
}

// edit inserts or replaces the digest of ref.
func edit(ref dockerfile.Ref, d v1.Hash) (dockerfile.Edit, string, bool) {
	digest := "@" + d.String()
	if ref.DigestStart < 0 {
		return dockerfile.Edit{Start: ref.End, End: ref.End, Text: digest}, ref.Text + digest, true
	}
	old := ref.Text[ref.DigestStart-ref.Start:]
	if old == digest {
		return dockerfile.Edit{}, ref.Text, false
	}
	newText := ref.Text[:ref.DigestStart-ref.Start] + digest
	return dockerfile.Edit{Start: ref.DigestStart, End: ref.End, Text: digest}, newText, true
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
