// Package bisect finds the first bad build of an image tag, as git bisect
// finds the first bad commit: it reads the tag's history, runs a command on
// builds between a good and a bad one, halves the range by the command's
// exit status, and diffs the last good build with the first bad one.
package bisect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/imagediff"
	"github.com/docker-cghistory/docker-cghistory/internal/registry"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Bisector runs bisections through a registry and a command runner.
type Bisector struct {
	History  *history.Client
	Registry *registry.Client
	Differ   *imagediff.Differ
	Runner   Runner
}

// Request is one bisection.
type Request struct {
	Tag name.Tag
	// Upstream, for a tag of a pull-through cache, is the tag it mirrors:
	// the history is read there; the images are still the mirror's.
	Upstream *name.Tag
	// Good and Bad name builds (see Locate); Bad "" is the tag's current
	// build. GoodDigest, when set, is the good build (from a pin in a file).
	Good, Bad  string
	GoodDigest v1.Hash
	// Command runs once per tested build; "{}" in an argument becomes the
	// build's reference.
	Command []string
	// Platform, when set, tests each build's image for that platform;
	// builds without one are skipped.
	Platform *v1.Platform
	// CheckEnds runs the command on the good and the bad build first.
	CheckEnds bool
	// StepTimeout, when positive, counts a run that takes longer as a skip.
	StepTimeout time.Duration
	// DryRun lists the candidates and runs nothing.
	DryRun bool
	// Known are verdicts from an earlier run (--replay), by tested digest.
	Known map[v1.Hash]Verdict
	// Log, when set, receives each new verdict as LogLine.
	Log io.Writer
	// OnStep, when set, hears each step as it is decided.
	OnStep func(Step)
	// Diff, when set, compares the last good build with the first bad one.
	Diff *imagediff.Options
	Now  time.Time
}

// Step is one build tested (or a verdict replayed).
type Step struct {
	Number int
	// Remaining is how many candidates were left when the step began.
	Remaining int
	Build     Build
	Reference string
	Verdict   Verdict
	ExitCode  int
	Duration  time.Duration
	// End is "good" or "bad" for the runs that check the ends, else "".
	End string
	// Replayed says the verdict came from --replay; Note says why a build
	// was skipped without a run (no image for the platform, a timeout).
	Replayed bool
	Note     string
}

// Result is a bisection's outcome.
type Result struct {
	// Image is the tag ("registry/repo:tag").
	Image      string
	Good, Bad  Build
	Candidates []Build
	// Order is, for a dry run, the step at which each candidate would
	// first be tried.
	Order  []int
	DryRun bool
	Steps  []Step
	// LastGood is the newest build known good; FirstBad the first bad
	// build, or, when skips leave a range, every build it may be.
	LastGood Build
	FirstBad []Build
	Skipped  []Build
	// Runs counts the command's runs.
	Runs int
	Diff *imagediff.Result
	// DiffError says why the diff is missing.
	DiffError string
}

// Reference is "repo:tag@digest" of the build's tested image.
func (r *Result) Reference(b Build) string { return r.Image + "@" + b.Tested.String() }

// StopError is a run that stops the bisection: an exit status of 128 or
// more, or a signal.
type StopError struct {
	Build  Build
	Status int
}

func (e *StopError) Error() string {
	how := fmt.Sprintf("exited %d", e.Status)
	if e.Status < 0 {
		how = "was killed by a signal"
	}
	return fmt.Sprintf("the command %s on build %s (%s): stopping the bisection (128 or more, or a signal, stops it; 125 skips a build)",
		how, e.Build.Tested, e.Build.UpdatedAt.UTC().Format(time.RFC3339))
}

// ErrInterrupted means the bisection was cancelled (Ctrl-C).
var ErrInterrupted = errors.New("bisection interrupted")

// Bisect runs a bisection. On an error after some steps, the result holds
// the steps done so far.
func (b *Bisector) Bisect(ctx context.Context, req Request) (*Result, error) {
	if !req.DryRun {
		if err := Check(req.Command); err != nil {
			return nil, err
		}
	}
	res := &Result{Image: req.Tag.Name(), DryRun: req.DryRun}
	from := req.Tag
	if req.Upstream != nil {
		from = *req.Upstream
	}
	entries, err := b.History.List(ctx, from, history.Query{})
	if errors.Is(err, history.ErrNotSupported) {
		return nil, fmt.Errorf("bisect needs the tag history: %w", err)
	}
	if err != nil {
		return nil, err
	}
	seq := Sequence(entries)
	gi, bi, err := b.ends(ctx, req, seq, entries)
	if err != nil {
		return nil, err
	}
	res.Good, res.Bad = seq[gi], seq[bi]
	res.Candidates = seq[gi+1 : bi]
	if len(res.Candidates) == 0 {
		return nil, fmt.Errorf("there is nothing between the good build %s and the bad build %s: no build to test (the bad one is the first bad build)",
			describe(res.Good), describe(res.Bad))
	}
	if req.DryRun {
		res.Order = Order(len(res.Candidates))
		return res, nil
	}
	r := &run{b: b, req: req, res: res}
	if req.CheckEnds {
		for _, end := range []struct {
			build *Build
			want  Verdict
			name  string
		}{{&res.Good, Good, "good"}, {&res.Bad, Bad, "bad"}} {
			st, err := r.test(ctx, end.build, len(res.Candidates), end.name)
			if err != nil {
				return res, err
			}
			if st.Verdict != end.want {
				return res, endError(end.name, st)
			}
		}
	}
	s := NewSearch(len(res.Candidates))
	for {
		i, ok := s.Next()
		if !ok {
			break
		}
		st, err := r.test(ctx, &res.Candidates[i], s.Remaining(), "")
		if err != nil {
			return res, err
		}
		s.Mark(i, st.Verdict)
		if st.Verdict == Skip {
			res.Skipped = append(res.Skipped, res.Candidates[i])
		}
	}
	lg, fb := s.Answer()
	res.LastGood = res.Good
	if lg >= 0 {
		res.LastGood = res.Candidates[lg]
	}
	for _, i := range fb {
		if i == len(res.Candidates) {
			res.FirstBad = append(res.FirstBad, res.Bad)
		} else {
			res.FirstBad = append(res.FirstBad, res.Candidates[i])
		}
	}
	if req.Diff != nil {
		repo := req.Tag.Context()
		bad := res.FirstBad[len(res.FirstBad)-1]
		d, err := b.Differ.Diff(ctx, repo.Digest(res.LastGood.Digest.String()).String(), repo.Digest(bad.Digest.String()).String(), *req.Diff)
		if err != nil {
			res.DiffError = err.Error()
		}
		res.Diff = d
	}
	return res, nil
}

// ends finds the good and the bad build in seq.
func (b *Bisector) ends(ctx context.Context, req Request, seq []Build, entries []history.Entry) (int, int, error) {
	if len(seq) == 0 {
		return 0, 0, fmt.Errorf("%s has no builds in its history", req.Tag)
	}
	bad := req.Bad
	if bad == "" {
		bad = "~0" // the tag's current build
	}
	bi, err := Locate(seq, entries, bad, "--bad", req.Now)
	if err != nil {
		return 0, 0, b.explain(ctx, req.Tag, err)
	}
	spec, flag := req.Good, "--good"
	if req.GoodDigest != (v1.Hash{}) {
		spec, flag = req.GoodDigest.String(), "the pinned good build"
	}
	gi, err := Locate(seq, entries, spec, flag, req.Now)
	if err != nil {
		return 0, 0, b.explain(ctx, req.Tag, err)
	}
	switch {
	case gi == bi:
		return 0, 0, fmt.Errorf("the good and the bad build are the same build, %s", describe(seq[gi]))
	case gi > bi:
		return 0, 0, fmt.Errorf("the good build %s is newer than the bad build %s: the good build must be the older one",
			describe(seq[gi]), describe(seq[bi]))
	}
	return gi, bi, nil
}

// explain says whether a digest missing from the history is an image of
// the repository (a build of another tag).
func (b *Bisector) explain(ctx context.Context, tag name.Tag, err error) error {
	var ne *NotInHistoryError
	if !errors.As(err, &ne) {
		return err
	}
	ne.Tag = tag.Name()
	if _, perr := b.Registry.Platforms(ctx, tag.Context(), ne.Digest); perr == nil {
		ne.OtherTag = true
	}
	return ne
}

func endError(end string, st Step) error {
	b := describe(st.Build)
	switch {
	case st.Verdict == Skip:
		return fmt.Errorf("the %s build %s cannot be tested (%s): both ends must be testable", end, b, skipWhy(st))
	case end == "good":
		return fmt.Errorf("the good build %s fails too (exit %d): the bug is not in the image, or the test is flaky", b, st.ExitCode)
	}
	return fmt.Errorf("the bad build %s passes (exit 0): the bug is not in the image, or the test is flaky", b)
}

func skipWhy(st Step) string {
	if st.Note != "" {
		return st.Note
	}
	return fmt.Sprintf("exit %d", st.ExitCode)
}

func describe(b Build) string {
	return fmt.Sprintf("%s (%s)", b.Digest, b.UpdatedAt.UTC().Format(time.RFC3339))
}

// run is one bisection's steps.
type run struct {
	b   *Bisector
	req Request
	res *Result
}

// test decides one build's verdict: from --replay, a skip when it has no
// image for the platform, or by running the command.
func (r *run) test(ctx context.Context, build *Build, remaining int, end string) (Step, error) {
	if err := r.platform(ctx, build); err != nil {
		return Step{}, err
	}
	st := Step{Number: len(r.res.Steps) + 1, Remaining: remaining, Build: *build, End: end, ExitCode: -1}
	if build.Tested == (v1.Hash{}) {
		st.Verdict, st.Note = Skip, "no "+r.req.Platform.String()+" image"
		build.Tested = build.Digest
		st.Build = *build
		return r.record(st, true), nil
	}
	st.Reference = r.res.Reference(*build)
	if v, ok := r.req.Known[build.Tested]; ok {
		st.Verdict, st.Replayed = v, true
		return r.record(st, false), nil
	}
	if err := ctx.Err(); err != nil {
		return Step{}, ErrInterrupted
	}
	sctx := ctx
	if r.req.StepTimeout > 0 {
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeout(ctx, r.req.StepTimeout)
		defer cancel()
	}
	start := time.Now()
	status, err := r.b.Runner.Run(sctx, Substitute(r.req.Command, st.Reference), Environment(st.Reference, *build, st.Number))
	st.Duration = time.Since(start)
	r.res.Runs++
	switch {
	case ctx.Err() != nil, errors.Is(err, ErrInterrupted):
		return Step{}, ErrInterrupted
	case err != nil:
		return Step{}, fmt.Errorf("run the command on %s: %w", build.Tested, err)
	case sctx.Err() != nil:
		st.Verdict, st.Note = Skip, fmt.Sprintf("timed out after %s", r.req.StepTimeout)
		return r.record(st, true), nil
	}
	st.ExitCode = status
	v, ok := verdictOf(status)
	if !ok {
		return Step{}, &StopError{Build: *build, Status: status}
	}
	st.Verdict = v
	return r.record(st, true), nil
}

// platform sets the tested digest of build: its image for the platform
// (zero when it has none), or the build itself.
func (r *run) platform(ctx context.Context, build *Build) error {
	if r.req.Platform == nil {
		build.Tested = build.Digest
		return nil
	}
	ps, err := r.b.Registry.Platforms(ctx, r.req.Tag.Context(), build.Digest)
	if err != nil {
		return fmt.Errorf("platforms of %s: %w", build.Digest, err)
	}
	build.Tested = v1.Hash{}
	for _, p := range ps {
		if p.Platform.Satisfies(*r.req.Platform) {
			build.Tested = p.Digest
			break
		}
	}
	return nil
}

// record keeps a step, logs a new verdict and tells OnStep.
func (r *run) record(st Step, log bool) Step {
	r.res.Steps = append(r.res.Steps, st)
	if log && r.req.Log != nil {
		_, _ = io.WriteString(r.req.Log, LogLine(st))
	}
	if r.req.OnStep != nil {
		r.req.OnStep(st)
	}
	return st
}
