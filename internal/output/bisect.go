package output

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/bisect"
)

// BisectOptions control how a bisection is rendered.
type BisectOptions struct {
	Format   string // table (""), json or markdown
	Terminal Terminal
}

// BisectStep is the progress line of one step, for stderr.
func BisectStep(st bisect.Step) string {
	what := fmt.Sprintf("step %d: %d left", st.Number, st.Remaining)
	if st.End != "" {
		what = fmt.Sprintf("step %d: the %s end", st.Number, st.End)
	}
	return fmt.Sprintf("%s  %s  %s  %s", what, st.Build.UpdatedAt.UTC().Format(time.RFC3339), ShortDigest(st.Build.Tested.String()), verdictText(st))
}

func verdictText(st bisect.Step) string {
	switch {
	case st.Replayed:
		return string(st.Verdict) + " (replayed)"
	case st.Note != "":
		return fmt.Sprintf("%s (%s)", st.Verdict, Escape(st.Note))
	}
	return fmt.Sprintf("%s (exit %d, %s)", st.Verdict, st.ExitCode, st.Duration.Round(10*time.Millisecond))
}

// bisectBuild is a build in --format json.
type bisectBuild struct {
	Digest    string
	Tested    string `json:",omitempty"`
	UpdatedAt string
	Reference string
	Step      int `json:",omitempty"` // dry run: the step that would try it
}

type bisectStep struct {
	bisectBuild
	Step     int
	End      string `json:",omitempty"`
	Verdict  string
	ExitCode int
	Duration string
	Replayed bool   `json:",omitempty"`
	Note     string `json:",omitempty"`
}

type bisectDocument struct {
	Image string
	// FirstBad is the first bad build; FirstBadRange, when skips leave a
	// range, every build it may be (FirstBad is then null).
	FirstBad      *bisectBuild
	FirstBadRange []bisectBuild `json:",omitempty"`
	LastGood      bisectBuild
	Steps         []bisectStep
	Skipped       []bisectBuild
	Runs          int
	Diff          *DiffDocument
	DiffError     string `json:",omitempty"`
}

type bisectPlan struct {
	Image      string
	Good, Bad  bisectBuild
	Candidates []bisectBuild
	MaxRuns    int
}

func jsonBuild(r *bisect.Result, b bisect.Build) bisectBuild {
	out := bisectBuild{Digest: b.Digest.String(), UpdatedAt: b.UpdatedAt.UTC().Format(time.RFC3339), Reference: r.Image + "@" + b.Digest.String()}
	if b.Tested != b.Digest && b.Tested.Hex != "" {
		out.Tested = b.Tested.String()
	}
	return out
}

// WriteBisect renders a bisection's answer (or, for a dry run, its plan):
// the first bad and the last good build, then cgdiff's summary of what
// changed between them.
func WriteBisect(w io.Writer, r *bisect.Result, opts BisectOptions) error {
	switch opts.Format {
	case "", "table":
		return writeBisectTable(w, r, opts)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if r.DryRun {
			return enc.Encode(bisectPlanOf(r))
		}
		return enc.Encode(bisectDocumentOf(r))
	case "markdown":
		return writeBisectMarkdown(w, r)
	}
	return fmt.Errorf("--format %q: want table, json or markdown", opts.Format)
}

func bisectPlanOf(r *bisect.Result) bisectPlan {
	p := bisectPlan{Image: r.Image, Good: jsonBuild(r, r.Good), Bad: jsonBuild(r, r.Bad), MaxRuns: bisect.MaxRuns(len(r.Candidates)), Candidates: []bisectBuild{}}
	for i, b := range r.Candidates {
		jb := jsonBuild(r, b)
		jb.Step = r.Order[i]
		p.Candidates = append(p.Candidates, jb)
	}
	return p
}

func bisectDocumentOf(r *bisect.Result) bisectDocument {
	doc := bisectDocument{Image: r.Image, LastGood: jsonBuild(r, r.LastGood), Runs: r.Runs, Steps: []bisectStep{}, Skipped: []bisectBuild{}, DiffError: r.DiffError}
	if len(r.FirstBad) == 1 {
		fb := jsonBuild(r, r.FirstBad[0])
		doc.FirstBad = &fb
	} else {
		for _, b := range r.FirstBad {
			doc.FirstBadRange = append(doc.FirstBadRange, jsonBuild(r, b))
		}
	}
	for _, st := range r.Steps {
		doc.Steps = append(doc.Steps, bisectStep{bisectBuild: jsonBuild(r, st.Build), Step: st.Number, End: st.End, Verdict: string(st.Verdict),
			ExitCode: st.ExitCode, Duration: st.Duration.Round(time.Millisecond).String(), Replayed: st.Replayed, Note: st.Note})
	}
	for _, b := range r.Skipped {
		doc.Skipped = append(doc.Skipped, jsonBuild(r, b))
	}
	if r.Diff != nil {
		d := NewDiffDocument(r.Diff)
		doc.Diff = &d
	}
	return doc
}

func writeBisectTable(w io.Writer, r *bisect.Result, opts BisectOptions) error {
	var b strings.Builder
	image := Escape(r.Image)
	line := func(label string, bd bisect.Build) {
		fmt.Fprintf(&b, "%-16s%s  %s  %s@%s\n", label, bd.UpdatedAt.UTC().Format(time.RFC3339), ShortDigest(bd.Digest.String()), image, bd.Digest)
	}
	if r.DryRun {
		fmt.Fprintf(&b, "%d builds between the good build %s and the bad build %s, oldest first; at most %d runs\n",
			len(r.Candidates), ShortDigest(r.Good.Digest.String()), ShortDigest(r.Bad.Digest.String()), bisect.MaxRuns(len(r.Candidates)))
		fmt.Fprintf(&b, "%-6s%-24s%-22s%s\n", "STEP", "UPDATED", "DIGEST", "REFERENCE")
		for i, c := range r.Candidates {
			fmt.Fprintf(&b, "%-6d%-24s%-22s%s@%s\n", r.Order[i], c.UpdatedAt.UTC().Format(time.RFC3339), ShortDigest(c.Digest.String()), image, c.Digest)
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	if len(r.FirstBad) == 1 {
		line("First bad build", r.FirstBad[0])
	} else {
		fmt.Fprintf(&b, "Skipped builds leave %d builds, any of which may be the first bad one:\n", len(r.FirstBad))
		for _, fb := range r.FirstBad {
			line("  may be", fb)
		}
	}
	line("Last good build", r.LastGood)
	fmt.Fprintf(&b, "%d runs, %d builds skipped\n", r.Runs, len(r.Skipped))
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return writeBisectDiff(w, r, DiffOptions{Terminal: opts.Terminal})
}

func writeBisectDiff(w io.Writer, r *bisect.Result, opts DiffOptions) error {
	if r.DiffError != "" {
		_, err := fmt.Fprintf(w, "\nNo diff of the two builds: %s\n", Escape(r.DiffError))
		return err
	}
	if r.Diff == nil {
		return nil
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return err
	}
	return WriteDiff(w, r.Diff, opts)
}

func writeBisectMarkdown(w io.Writer, r *bisect.Result) error {
	if r.DryRun {
		return writeBisectTable(w, r, BisectOptions{})
	}
	var b strings.Builder
	at := func(d fmt.Stringer) string { return MarkdownCode(r.Image + "@" + d.String()) }
	fmt.Fprintf(&b, "### Bisection of %s\n\n", MarkdownCode(r.Image))
	if len(r.FirstBad) == 1 {
		fmt.Fprintf(&b, "**First bad build:** %s (%s)  \n", at(r.FirstBad[0].Digest), r.FirstBad[0].UpdatedAt.UTC().Format(time.RFC3339))
	} else {
		b.WriteString("**First bad build:** skipped builds leave a range, any of which may be it:\n\n")
		for _, fb := range r.FirstBad {
			fmt.Fprintf(&b, "- %s (%s)\n", at(fb.Digest), fb.UpdatedAt.UTC().Format(time.RFC3339))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "**Last good build:** %s (%s)\n\n", at(r.LastGood.Digest), r.LastGood.UpdatedAt.UTC().Format(time.RFC3339))
	b.WriteString("| step | updated | digest | verdict |\n|---|---|---|---|\n")
	for _, st := range r.Steps {
		fmt.Fprintf(&b, "| %d | %s | `%s` | %s |\n", st.Number, st.Build.UpdatedAt.UTC().Format(time.RFC3339), ShortDigest(st.Build.Tested.String()), MarkdownCell(verdictText(st)))
	}
	b.WriteString("\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if r.DiffError != "" {
		_, err := fmt.Fprintf(w, "> No diff of the two builds: %s\n", MarkdownCell(r.DiffError))
		return err
	}
	if r.Diff == nil {
		return nil
	}
	return WriteDiff(w, r.Diff, DiffOptions{Format: "markdown"})
}
