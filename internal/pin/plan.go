// Package pin plans and applies digest pins for the image references in
// Dockerfiles and the YAML and JSON files that name images: it resolves
// every distinct reference once, concurrently, and writes all files
// atomically, or none.
package pin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/aymanbagabas/go-udiff"
	"github.com/docker-cghistory/docker-cghistory/internal/dockerfile"
	"github.com/docker-cghistory/docker-cghistory/internal/kinds"
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/docker-cghistory/docker-cghistory/internal/yamlref"
	"github.com/docker/go-units"
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
	// Ignore lists globs over references as written ("cgr.dev/*/go:*");
	// "!GLOB" takes a reference back. The last matching pattern decides.
	Ignore []string
	// Chooser, when set, decides where each existing pin moves (update
	// policies); without one a pin moves to the resolver's build.
	Chooser Chooser
	// PinsOnly leaves unpinned references alone (--fixes moves pins).
	PinsOnly bool
	// SkipUnknown passes over named files of no known kind instead of
	// failing (hooks are handed every YAML file).
	SkipUnknown bool
	// Verify, when set, checks the signature of every digest about to be
	// pinned; one that does not verify fails the run, and nothing is
	// written. With VerifyPinned, existing pins that stay are checked too
	// (--check --verify).
	Verify       Verifier
	VerifyPinned bool
	// Bump moves version tags within a level (--bump); with Tags set,
	// unique tags under Update move to their stream's newest build. A tag
	// moved implies Update for its reference.
	Bump BumpRules
	Tags Lister
}

// Verifier checks an image digest's signature.
type Verifier interface {
	Verify(ctx context.Context, repo name.Repository, digest v1.Hash) error
}

// Chooser decides, for a reference already pinned, whether to move it to
// the build the resolver chose, to another build, or not at all: the
// update policies (--only-if-changed, --fixes, security-aware cooldown).
type Chooser interface {
	Choose(ctx context.Context, tag name.Tag, pinned v1.Hash, candidate Resolution) (Decision, error)
}

// Decision is where a pin goes, and why.
type Decision struct {
	// Digest is the build to pin; the pinned build itself to stay.
	Digest v1.Hash
	// Reason says why the pin stays ("rebuild, same packages") or why it
	// moves when a policy moved it ("fixes CVE-2024-0001").
	Reason string
}

// Ignored reports whether a reference is ignored by patterns, globs
// matched against it as written with and without its digest; it returns
// the pattern that decided.
func Ignored(patterns []string, img ref.Image) (string, bool) {
	matched, by := false, ""
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		g := strings.TrimPrefix(p, "!")
		a, _ := path.Match(g, img.Name)
		b, _ := path.Match(g, img.Pin(img.Digest))
		if a || (img.Pinned() && b) {
			matched, by = !neg, p
		}
	}
	return by, matched
}

// Change is one reference that gets a new digest, as typed values: where
// it is, what was written, taken apart, and what it becomes.
type Change struct {
	File     string // as the user named it
	FileKind ref.FileKind
	Line     int
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
	// Why says why a policy moved the pin ("fixes CVE-…"), if one did.
	Why string
	// OldTag and NewTag are set when the tag moved (--bump, unique tags).
	OldTag, NewTag string
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
	// Held says an update policy kept the pin where it is.
	Held bool
	// Ignored says --ignore-image matched.
	Ignored bool
	// Warning says the reference is pinned all the same (a stale mirror).
	Warning bool
}

// Where is the note's place: "file:line: reference", or the file when
// the whole file is left alone.
func (n Note) Where() string {
	if n.Line == 0 && n.Ref == "" {
		return n.File
	}
	return fmt.Sprintf("%s:%d: %s", n.File, n.Line, n.Ref)
}

// FilePlan is one file's before and after.
type FilePlan struct {
	Path    string // as the user named it
	Kind    ref.FileKind
	Target  string // the file written (symlinks resolved)
	Mode    os.FileMode
	Old     []byte
	New     []byte
	Changes []Change
	info    os.FileInfo // the target as read: checked again before writing
}

// Plan is what a pin run would do.
type Plan struct {
	Files []*FilePlan
	Notes []Note
	kept  []Reference // pins left as they are
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
	file  *FilePlan
	found ref.Found
	tag   name.Tag // what to follow
	// bumpOnly: a pin read only because its tag may move (no --update);
	// it stays when the tag does not.
	bumpOnly bool
	from     name.Tag // the tag as written, when tag moved
}

// Build reads files, finds their references and resolves them. It returns
// every error it met (each with file:line), and then no plan: a run that
// cannot resolve everything changes nothing.
func Build(ctx context.Context, files []Source, r Resolver, opts Options) (*Plan, error) {
	if opts.Jobs <= 0 {
		opts.Jobs = 8
	}
	p := &Plan{}
	todo, errs := p.read(ctx, files, opts)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	// Move tags that may move, then resolve each distinct reference once,
	// then decide each distinct pin.
	known := map[name.Tag]resolved{}
	if opts.Tags != nil {
		moved := retagAll(ctx, r, todo, opts)
		for i, t := range todo {
			m, ok := moved[retagKey{t.tag, opts.Bump.Level(t.found.Image)}]
			if !ok {
				continue
			}
			if m.err != nil {
				errs = append(errs, &LocatedError{File: t.file.Path, Line: t.found.Line, Ref: t.found.Text, Err: m.err})
				continue
			}
			for _, sk := range m.skipped {
				p.Notes = append(p.Notes, Note{File: t.file.Path, Line: t.found.Line, Ref: t.found.Text, Reason: "passed over " + sk, Warning: true})
			}
			if m.warning != "" {
				p.Notes = append(p.Notes, Note{File: t.file.Path, Line: t.found.Line, Ref: t.found.Text, Reason: m.warning, Warning: true})
				continue
			}
			known[m.tag] = resolved{Resolution: m.res}
			if m.tag == t.tag {
				continue
			}
			if t.found.Retag == nil {
				p.Notes = append(p.Notes, Note{File: t.file.Path, Line: t.found.Line, Ref: t.found.Text, Warning: true,
					Reason: fmt.Sprintf("the tag could move to %s, but cgpin cannot write it there (%s); move it by hand", m.tag.TagStr(), t.found.Kind)})
				continue
			}
			todo[i].from, todo[i].tag = t.tag, m.tag
		}
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
	}
	resolved := resolveAll(ctx, r, todo, opts.Jobs, known)
	p.Resolved = len(resolved)
	for _, t := range todo {
		if res := resolved[t.tag]; res.err != nil {
			errs = append(errs, &LocatedError{File: t.file.Path, Line: t.found.Line, Ref: t.found.Text, Err: res.err})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, t := range todo {
		if n := resolved[t.tag].Note; n != "" {
			p.Notes = append(p.Notes, Note{File: t.file.Path, Line: t.found.Line, Ref: t.found.Text, Reason: n, Warning: true})
		}
	}
	decided := decideAll(ctx, opts.Chooser, todo, resolved, opts.Jobs)
	for _, t := range todo {
		if dec := decided[pinKey{t.tag, t.found.Image.Digest}]; dec.err != nil {
			errs = append(errs, &LocatedError{File: t.file.Path, Line: t.found.Line, Ref: t.found.Text, Err: dec.err})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	// Edit each file.
	edits := map[*FilePlan][]ref.Edit{}
	keeper, _ := r.(Keeper)
	for _, t := range todo {
		res := resolved[t.tag]
		d, img, why := res.Digest, t.found.Image, ""
		if dec, ok := decided[pinKey{t.tag, img.Digest}]; ok && img.Pinned() {
			if dec.Digest == img.Digest && dec.Reason != "" {
				p.Notes = append(p.Notes, Note{File: t.file.Path, Line: t.found.Line, Ref: t.found.Text, Reason: dec.Reason, Held: true})
			}
			d, why = dec.Digest, dec.Reason
		}
		kept := Reference{File: t.file.Path, FileKind: t.file.Kind, Found: t.found}
		if t.bumpOnly && t.from == (name.Tag{}) {
			p.kept = append(p.kept, kept) // its tag stays: without --update, so does its pin
			continue
		}
		if t.from != (name.Tag{}) && img.Pinned() && d == img.Digest && why != "" {
			p.kept = append(p.kept, kept) // a policy holds the pin: its tag stays too
			continue
		}
		if img.Pinned() && img.Digest == d && t.from == (name.Tag{}) {
			p.kept = append(p.kept, kept) // stays: --check --verify checks it
			continue
		}
		if keeper != nil && img.Pinned() && t.from == (name.Tag{}) && keeper.Keep(t.tag, img.Digest, d) {
			p.Notes = append(p.Notes, Note{File: t.file.Path, Line: t.found.Line, Ref: t.found.Text,
				Reason: "pinned to a newer build than the cooldown allows; not moved back"})
			p.kept = append(p.kept, kept)
			continue
		}
		e, newText := t.found.Pin(d)
		es := []ref.Edit{e}
		var oldTag, newTag string
		if t.from != (name.Tag{}) {
			es, newText = t.found.Retag(t.tag.TagStr(), d)
			e = es[0]
			oldTag, newTag = t.from.TagStr(), t.tag.TagStr()
		}
		edits[t.file] = append(edits[t.file], es...)
		t.file.Changes = append(t.file.Changes, Change{File: t.file.Path, FileKind: t.file.Kind, Line: t.found.Line,
			Start: e.Start, End: e.End, Kind: t.found.Kind, Image: img, Old: t.found.Text, New: newText, Digest: d, Platform: res.Platform, Why: why,
			OldTag: oldTag, NewTag: newTag})
	}
	if opts.Verify != nil {
		if errs := p.verify(ctx, opts, todo); len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
	}
	for _, f := range p.Files {
		f.New = f.Old
		if len(edits[f]) == 0 {
			continue
		}
		out, err := ref.Apply(f.Old, edits[f])
		if err != nil {
			return nil, &LocatedError{File: f.Path, Err: err}
		}
		f.New = out
		slices.SortStableFunc(f.Changes, func(a, b Change) int { return a.Line - b.Line })
	}
	return p, nil
}

// Limits of what cgpin reads: a larger file is left alone with a note
// (an error when named, without --skip-unknown); files that add up to
// more are an error. Measured: the densest 2 MiB of YAML ("[a,a,…]")
// takes 300 MB and 6 s to parse, and 1 MiB of FROM lines 250 MB and 45 s
// (--timeout holds); real Dockerfiles are a few KiB, install bundles with
// their CRDs a MiB or two. (Variables: tests lower them.)
var (
	maxFileSize       int64 = 2 << 20
	maxDockerfileSize int64 = 1 << 20
	maxTotalBytes     int64 = 128 << 20
)

// sizeLimit is the most cgpin reads of a file of kind k.
func sizeLimit(k ref.FileKind) int64 {
	if k == ref.Dockerfile {
		return maxDockerfileSize
	}
	return maxFileSize
}

// read loads each file once (a symlink to a file already read is
// skipped), finds its references and classifies them: notes go to the
// plan, the references to resolve are returned, with every error met.
// It returns when ctx ends even if a parser does not: the parse goes on in
// the background, its result unused, and the run ends with ctx's error
// naming the file.
func (p *Plan) read(ctx context.Context, files []Source, opts Options) ([]pending, []error) {
	var (
		q    Plan
		todo []pending
		errs []error
		cur  atomic.Pointer[string]
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		todo, errs = q.readAll(ctx, files, opts, &cur)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		err := fmt.Errorf("reading files: %w", context.Cause(ctx))
		if f := cur.Load(); f != nil {
			err = &LocatedError{File: *f, Err: fmt.Errorf("not read when the run ended: %w", context.Cause(ctx))}
		}
		return nil, []error{err}
	}
	p.Files, p.Notes, p.kept = q.Files, q.Notes, q.kept
	return todo, errs
}

// readAll is read's work; cur names the file it is on.
func (p *Plan) readAll(ctx context.Context, files []Source, opts Options, cur *atomic.Pointer[string]) ([]pending, []error) {
	var errs []error
	var todo []pending
	seenTargets := map[string]bool{}
	roots := newRoots(files)
	var total int64
	for _, src := range files {
		if err := ctx.Err(); err != nil {
			return nil, append(errs, fmt.Errorf("reading files: %w", context.Cause(ctx)))
		}
		cur.Store(&src.Path)
		target, err := filepath.EvalSymlinks(src.Path)
		if err != nil {
			errs = append(errs, &LocatedError{File: src.Path, Err: unwrapPathError(err)})
			continue
		}
		if seenTargets[target] {
			continue // another name (a symlink) for a file already planned
		}
		if src.Root != "" && filepath.Clean(src.Path) != target && !roots.inside(target) {
			p.Notes = append(p.Notes, Note{File: src.Path, Reason: "a symlink to " + target + ", outside the paths given"})
			continue
		}
		fp, err := load(src.Path, target, sizeLimit(src.Kind))
		var alone *leftAlone
		switch {
		case errors.As(err, &alone) && alone.tooBig && src.Explicit && !opts.SkipUnknown:
			errs = append(errs, &LocatedError{File: src.Path, Err: alone})
			continue
		case errors.As(err, &alone):
			p.Notes = append(p.Notes, Note{File: src.Path, Reason: alone.Error()})
			continue
		case err != nil:
			errs = append(errs, err)
			continue
		}
		if total += int64(len(fp.Old)); total > maxTotalBytes {
			return nil, append(errs, &LocatedError{File: src.Path, Err: fmt.Errorf("the files to pin add up to more than %s here, the most cgpin reads in one run; name fewer paths or --exclude some", units.BytesSize(float64(maxTotalBytes)))})
		}
		seenTargets[fp.Target] = true
		fp.Kind = src.Kind
		if src.Glob != "" && bytes.IndexByte(fp.Old, 0) >= 0 {
			p.Notes = append(p.Notes, Note{File: src.Path, Line: 1, Ref: "(binary)", Reason: "binary file matched by " + src.Glob + ": skipped"})
			continue
		}
		if src.Sniff {
			k, ok := sniff(src, fp.Old)
			switch {
			case !ok && src.Explicit && !opts.SkipUnknown:
				errs = append(errs, &LocatedError{File: src.Path, Err: fmt.Errorf("not a kind of file cgpin knows (%s); name it with --kind, or pass over such files with --skip-unknown", kindList())})
				continue
			case !ok:
				continue // a YAML file that names no images
			}
			fp.Kind = k
		}
		found, skipped, err := find(fp)
		var bad *ref.BadReference
		switch {
		case errors.As(err, &bad):
			for _, e := range unjoin(err) {
				if errors.As(e, &bad) {
					errs = append(errs, &LocatedError{File: src.Path, Line: bad.Line, Ref: bad.Text, Err: fmt.Errorf("invalid image reference: %w", bad.Err)})
				}
			}
			continue
		case err != nil:
			errs = append(errs, &LocatedError{File: src.Path, Line: parseLine(err), Err: fmt.Errorf("cannot parse %s: %w", kindName(fp.Kind), err)})
			continue
		}
		p.Files = append(p.Files, fp)
		for _, s := range skipped {
			p.Notes = append(p.Notes, Note{File: src.Path, Line: s.Line, Ref: s.Text, Reason: s.Reason})
		}
		for _, f := range found {
			if by, ok := Ignored(opts.Ignore, f.Image); ok {
				p.Notes = append(p.Notes, Note{File: src.Path, Line: f.Line, Ref: f.Text, Reason: "ignored (" + by + ")", Ignored: true})
				continue
			}
			switch {
			case !f.Image.Pinned() && opts.PinsOnly:
				p.Notes = append(p.Notes, Note{File: src.Path, Line: f.Line, Ref: f.Text, Reason: "not pinned: --fixes moves existing pins only"})
			case f.Image.Pinned() && !opts.Update && moves(f.Image, opts):
				todo = append(todo, pending{file: fp, found: f, tag: f.Image.Tagged(), bumpOnly: true})
			case f.Image.Pinned() && !opts.Update:
				// already pinned; --update moves it
				p.kept = append(p.kept, Reference{File: src.Path, FileKind: fp.Kind, Found: f})
			case f.Image.Pinned() && f.Image.Tag == "":
				p.Notes = append(p.Notes, Note{File: src.Path, Line: f.Line, Ref: f.Text, Reason: "pinned by digest without a tag: nothing to follow"})
			default:
				todo = append(todo, pending{file: fp, found: f, tag: f.Image.Tagged()})
			}
		}
	}
	return todo, errs
}

// sniff tells a file's kind from its content: Kubernetes when a YAML or
// JSON document has apiVersion and kind; for a file of no telling name
// (no Kind), else a Dockerfile when it reads as one (within the size
// cgpin reads of a Dockerfile).
func sniff(src Source, data []byte) (ref.FileKind, bool) {
	if src.Kind != "" {
		return src.Kind, kinds.Sniff(src.Kind, src.Path, data)
	}
	if k, ok := yamlref.Sniff(src.Path, data); ok {
		return k, true
	}
	if int64(len(data)) <= maxDockerfileSize && dockerfile.Is(data) {
		return ref.Dockerfile, true
	}
	return "", false
}

// Reference is a reference found in a file, for reports.
type Reference struct {
	File     string
	FileKind ref.FileKind
	Found    ref.Found
}

// Scan reads files as Build does and resolves nothing: every reference
// that follows a tag (pinned or not), and the notes on the others.
func Scan(ctx context.Context, files []Source, opts Options) ([]Reference, []Note, error) {
	p := &Plan{}
	opts.Update = true
	todo, errs := p.read(ctx, files, opts)
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	out := make([]Reference, len(todo))
	for i, t := range todo {
		out[i] = Reference{File: t.file.Path, FileKind: t.file.Kind, Found: t.found}
	}
	return out, p.Notes, nil
}

// find runs the finder of fp's kind (a variable: tests stand in a slow
// parser).
var find = func(fp *FilePlan) ([]ref.Found, []ref.Skipped, error) {
	return kinds.Find(context.Background(), fp.Kind, fp.Path, fp.Old)
}

func kindName(k ref.FileKind) string {
	if k == ref.Dockerfile {
		return "Dockerfile"
	}
	return string(k) + " file"
}

// unjoin lists the errors an errors.Join holds (or err itself).
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// verify checks the signature of every digest the plan pins (and, with
// VerifyPinned, of every pin that stays), each distinct image once,
// concurrently; every failure names its reference.
func (p *Plan) verify(ctx context.Context, opts Options, todo []pending) []error {
	type use struct {
		file, text string
		line       int
		kept       bool
	}
	type key struct {
		repo   string
		digest v1.Hash
	}
	uses := map[key][]use{}
	repos := map[key]name.Repository{}
	var keys []key
	add := func(repo name.Repository, d v1.Hash, u use) {
		k := key{repo.Name(), d}
		if _, ok := uses[k]; !ok {
			keys, repos[k] = append(keys, k), repo
		}
		uses[k] = append(uses[k], u)
	}
	for _, c := range p.Changes() {
		add(c.Image.Repo, c.Digest, use{c.File, c.Old, c.Line, false})
	}
	if opts.VerifyPinned {
		for _, r := range p.kept {
			add(r.Found.Image.Repo, r.Found.Image.Digest, use{r.File, r.Found.Text, r.Found.Line, true})
		}
	}
	results := make([]error, len(keys))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Jobs)
	for i, k := range keys {
		g.Go(func() error {
			results[i] = opts.Verify.Verify(gctx, repos[k], k.digest)
			return nil
		})
	}
	_ = g.Wait()
	var errs []error
	for i, k := range keys {
		if results[i] == nil {
			continue
		}
		for _, u := range uses[k] {
			what := "not pinned to %s: %w"
			if u.kept {
				what = "the pinned build %s does not verify: %w"
			}
			errs = append(errs, &LocatedError{File: u.file, Line: u.line, Ref: u.text, Err: fmt.Errorf(what, k.digest, results[i])})
		}
	}
	return errs
}

// pinKey is one distinct pin: a tag and the build it is pinned to.
type pinKey struct {
	tag    name.Tag
	pinned v1.Hash
}

type decided struct {
	Decision
	err error
}

// decideAll asks the chooser about each distinct existing pin once.
func decideAll(ctx context.Context, c Chooser, todo []pending, resolved map[name.Tag]resolved, jobs int) map[pinKey]decided {
	out := map[pinKey]decided{}
	if c == nil {
		return out
	}
	var keys []pinKey
	for _, t := range todo {
		k := pinKey{t.tag, t.found.Image.Digest}
		stays := t.bumpOnly && t.from == (name.Tag{}) // its tag stays, and without --update its pin
		if _, ok := out[k]; !ok && t.found.Image.Pinned() && !stays {
			out[k] = decided{}
			keys = append(keys, k)
		}
	}
	results := make([]decided, len(keys))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for i, k := range keys {
		g.Go(func() error {
			d, err := c.Choose(gctx, k.tag, k.pinned, resolved[k.tag].Resolution)
			results[i] = decided{Decision: d, err: err}
			return nil
		})
	}
	_ = g.Wait()
	for i, k := range keys {
		out[k] = results[i]
	}
	return out
}

// resolved is one distinct tag's resolution.
type resolved struct {
	Resolution
	err error
}

// resolveAll resolves each distinct tag of todo once, jobs at a time,
// collecting every failure rather than stopping at the first.
func resolveAll(ctx context.Context, r Resolver, todo []pending, jobs int, known map[name.Tag]resolved) map[name.Tag]resolved {
	var tags []name.Tag
	out := map[name.Tag]resolved{}
	for _, t := range todo {
		if res, ok := known[t.tag]; ok {
			out[t.tag] = res
			continue
		}
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

// leftAlone is a file cgpin does not read or edit, and why.
type leftAlone struct {
	reason string
	tooBig bool
}

func (e *leftAlone) Error() string { return e.reason }

// readFile loads a file to pin, refusing what is not a regular file and
// leaving alone (a *leftAlone error) what is too big or has other hard
// links, which a rename would break.
func readFile(path string, limit int64) (*FilePlan, error) {
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, &LocatedError{File: path, Err: unwrapPathError(err)}
	}
	return load(path, target, limit)
}

// load reads path's target (symlinks resolved) as readFile does.
func load(path, target string, limit int64) (*FilePlan, error) {
	fi, err := os.Stat(target)
	if err != nil {
		return nil, &LocatedError{File: path, Err: unwrapPathError(err)}
	}
	if !fi.Mode().IsRegular() {
		return nil, &LocatedError{File: path, Err: fmt.Errorf("not a regular file (%s)", fi.Mode().Type())}
	}
	if fi.Size() > limit {
		return nil, tooBig(fi.Size(), limit)
	}
	if n := links(fi); n > 1 {
		return nil, &leftAlone{reason: fmt.Sprintf("has %d hard links; rewriting it would break them", n)}
	}
	f, err := openRead(target)
	if err != nil {
		return nil, &LocatedError{File: path, Err: unwrapPathError(err)}
	}
	defer f.Close()
	if ofi, err := f.Stat(); err != nil || !os.SameFile(fi, ofi) {
		return nil, &LocatedError{File: path, Err: fmt.Errorf("changed on disk while cgpin read it; run again")}
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, &LocatedError{File: path, Err: unwrapPathError(err)}
	}
	if int64(len(data)) > limit {
		return nil, tooBig(int64(len(data)), limit)
	}
	mode := fi.Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
	return &FilePlan{Path: path, Target: target, Mode: mode, Old: data, info: fi}, nil
}

func tooBig(size, limit int64) *leftAlone {
	return &leftAlone{reason: fmt.Sprintf("%s, larger than the %s cgpin reads", units.BytesSize(float64(size)), units.BytesSize(float64(limit))), tooBig: true}
}

// roots are the paths given, resolved: a file read through a symlink
// must be one of the files or inside one of the directories.
type roots struct {
	cwd         string // the working directory, resolved
	files, dirs []string
}

func newRoots(files []Source) *roots {
	r := &roots{}
	if wd, err := os.Getwd(); err == nil {
		if wd, err = filepath.EvalSymlinks(wd); err == nil {
			r.cwd = wd
		}
	}
	seen := map[string]bool{}
	for _, s := range files {
		if s.Root == "" || seen[s.Root] {
			continue
		}
		seen[s.Root] = true
		abs, err := filepath.Abs(s.Root)
		if err != nil {
			continue
		}
		if s.Root != s.Path {
			if real, err := filepath.EvalSymlinks(abs); err == nil {
				r.dirs = append(r.dirs, real)
			}
			continue
		}
		// A file named: its directory resolved, the name itself not, so
		// that a symlink named leads only to a file given otherwise.
		if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
			r.files = append(r.files, filepath.Join(dir, filepath.Base(abs)))
		}
	}
	return r
}

// inside says whether target (symlinks resolved) is inside the paths
// given.
func (r *roots) inside(target string) bool {
	abs := target
	if !filepath.IsAbs(abs) {
		if r.cwd == "" {
			return false
		}
		abs = filepath.Join(r.cwd, abs)
	}
	if slices.Contains(r.files, abs) {
		return true
	}
	for _, d := range r.dirs {
		if rel, err := filepath.Rel(d, abs); err == nil && filepath.IsLocal(rel) {
			return true
		}
	}
	return false
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// parseLine extracts the line number from a parse error: buildkit's
// location, or YAML's "line N".
func parseLine(err error) int {
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		return le.Locations[0][0].Start.Line
	}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

var yamlLine = regexp.MustCompile(`\bline (\d+)\b`)

// Diff is a unified diff of every change.
func (p *Plan) Diff() string {
	var b strings.Builder
	for _, f := range p.Changed() {
		label := strings.TrimPrefix(filepath.ToSlash(f.Path), "/")
		b.WriteString(udiff.Unified("a/"+label, "b/"+label, string(f.Old), string(f.New)))
	}
	return b.String()
}
