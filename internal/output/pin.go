package output

import (
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"
	"text/tabwriter"

	"github.com/docker-cghistory/docker-cghistory/internal/imagediff"
	"github.com/docker-cghistory/docker-cghistory/internal/pin"
	"github.com/docker/cli/cli/command/formatter"
)

// Layouts for `docker cgpin`.
const (
	PinFormat        = "{{.Location}}  {{.Old}} → {{.New}}{{if .Why}}  ({{.Why}}){{end}}"
	PinCheckFormat   = "{{.Location}}  {{.Old}}{{if .Why}}  ({{.Why}}){{end}}"
	PinExplainFormat = "{{.Location}}  {{.Old}} → {{.New}}{{if .Why}}  ({{.Why}}){{end}}\n    {{.Explanation}}"
)

// PinMode is what a cgpin run does with its plan.
type PinMode int

// Modes of a cgpin run.
const (
	PinWrite  PinMode = iota // write the files, list the changes
	PinCheck                 // list what would change
	PinDryRun                // print a unified diff (or, with a format, the list)
)

// PinReport is a cgpin run for output: the plan, the mode, and (with
// --explain) one explanation per change, in the order of plan.Changes().
type PinReport struct {
	Plan      *pin.Plan
	Mode      PinMode
	Update    bool
	Explained []imagediff.Explanation // nil without --explain
	// TTY: stdout is a terminal, where the --dry-run diff's lines are
	// escaped (a repository's file can hold terminal controls); piped, the
	// diff keeps its bytes, so it still applies as a patch.
	TTY bool
}

// WritePin prints a cgpin run: the changes (as a diff, a list, JSON, a
// template or markdown) on out; notes on skipped references and the
// summary sentence on errOut.
func WritePin(out, errOut io.Writer, format string, r PinReport) error {
	for _, n := range r.Plan.Notes {
		what := "left alone"
		switch {
		case n.Held:
			what = "not moved"
		case n.Warning:
			what = "warning"
		}
		fmt.Fprintf(errOut, "%s: %s: %s\n", Escape(n.Where()), what, Escape(n.Reason))
	}
	changes := r.Plan.Changes()
	var err error
	switch {
	case r.Mode == PinDryRun && format == "":
		diff := r.Plan.Diff()
		if r.TTY {
			diff = escapeDiff(diff)
		}
		fmt.Fprint(out, diff)
		for i, c := range changes {
			if r.Explained != nil {
				row := changeRow{c: c, explained: &r.Explained[i]}
				fmt.Fprintf(out, "# %s:%d: %s\n", Escape(c.File), c.Line, Escape(row.explanation()))
			}
		}
	case format == "markdown":
		err = writeChangesMarkdown(out, changes, r.Explained)
	default:
		def := PinFormat
		switch {
		case r.Mode == PinCheck:
			def = PinCheckFormat
		case r.Explained != nil && r.Mode == PinWrite:
			def = PinExplainFormat
		}
		f := Format(format, false, def, def)
		if format == "" || format == formatter.TableFormatKey {
			f = formatter.Format(def)
		}
		var skipped []pin.Note
		if format == formatter.JSONFormatKey {
			skipped = r.Plan.Notes
		}
		err = WriteChanges(formatter.Context{Output: out, Format: f}, changes, r.Explained, skipped...)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(errOut, pinSummary(r))
	return nil
}

// pinSummary is the closing sentence of a cgpin run.
func pinSummary(r PinReport) string {
	p := r.Plan
	n, files := len(p.Changes()), len(p.Changed())
	verb := "Pinned"
	switch {
	case r.Mode != PinWrite:
		verb = "Would pin"
	case r.Update:
		verb = "Pinned or updated"
	}
	held, ignored, warned, fixes := 0, 0, 0, 0
	for _, n := range p.Notes {
		switch {
		case n.Held:
			held++
		case n.Ignored:
			ignored++
		case n.Warning:
			warned++
		}
	}
	retagged := 0
	for _, c := range p.Changes() {
		if strings.HasPrefix(c.Why, "fixes ") {
			fixes++
		}
		if c.NewTag != "" {
			retagged++
		}
	}
	extra := ""
	if retagged > 0 {
		extra += fmt.Sprintf(", %d %s moved", retagged, plural(retagged, "tag", "tags"))
	}
	if fixes > 0 {
		extra += fmt.Sprintf(", %d moved for a CVE fix", fixes)
	}
	if held > 0 {
		extra += fmt.Sprintf(", %d not moved by policy", held)
	}
	if ignored > 0 {
		extra += fmt.Sprintf(", %d ignored", ignored)
	}
	if warned > 0 {
		extra += fmt.Sprintf(", %d %s", warned, plural(warned, "warning", "warnings"))
	}
	return fmt.Sprintf("%s %d %s in %d of %d %s (%d distinct %s resolved, %d left alone%s)",
		verb, n, plural(n, "reference", "references"), files, len(p.Files), plural(len(p.Files), "file", "files"),
		p.Resolved, plural(p.Resolved, "image", "images"), len(p.Notes)-held-ignored-warned, extra)
}

// Plural picks the word for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// WriteChanges renders pin changes, one per line; explained (nil without
// --explain) holds what each change brings, in the same order. Then each
// note given but warnings (what was left alone, and why) as a row with
// Skipped set: for JSON, whose objects tell them apart.
func WriteChanges(ctx formatter.Context, changes []pin.Change, explained []imagediff.Explanation, skipped ...pin.Note) error {
	header := &changeRow{HeaderContext: formatter.HeaderContext{Header: formatter.SubHeaderContext{
		"Location": "LOCATION", "File": "FILE", "FileKind": "FILE KIND", "Line": "LINE", "Kind": "KIND",
		"Old": "OLD", "New": "NEW", "Digest": "DIGEST", "Explanation": "CHANGES", "Why": "WHY",
	}}}
	return ctx.Write(header, func(format func(formatter.SubContext) error) error {
		for i, c := range changes {
			row := &changeRow{c: c}
			if explained != nil {
				row.explained = &explained[i]
			}
			if err := format(row); err != nil {
				return err
			}
		}
		for _, n := range skipped {
			if n.Warning {
				continue // pinned all the same: not left alone
			}
			if err := format(&skippedRow{n: n}); err != nil {
				return err
			}
		}
		return nil
	})
}

// skippedRow is a reference or file left alone, for --format json.
type skippedRow struct {
	formatter.HeaderContext
	n pin.Note
}

// MarshalJSON is the `--format json` object of what was left alone: File,
// Line and Old (the reference as written) when there is one, Reason, and
// Skipped; Held for a pin an update policy kept, Ignored for
// --ignore-image.
func (r *skippedRow) MarshalJSON() ([]byte, error) {
	m := map[string]any{"File": r.n.File, "Reason": r.n.Reason, "Skipped": true}
	if r.n.Line > 0 {
		m["Line"] = r.n.Line
	}
	if r.n.Ref != "" {
		m["Old"] = r.n.Ref
	}
	if r.n.Held {
		m["Held"] = true
	}
	if r.n.Ignored {
		m["Ignored"] = true
	}
	return json.Marshal(m)
}

type changeRow struct {
	formatter.HeaderContext
	c         pin.Change
	explained *imagediff.Explanation
}

// Explanation summarises what the new digest brings (--explain).
func (r *changeRow) Explanation() string { return Escape(r.explanation()) }

// explanation is Explanation unescaped, for JSON and markdown.
func (r *changeRow) explanation() string {
	if r.explained == nil {
		return r.version()
	}
	if v := r.version(); v != "" {
		return v + "; " + summary(*r.explained, "cannot explain")
	}
	return summary(*r.explained, "cannot explain")
}

// version is the tag's move, "python 3.12 → 3.13", or "".
func (r *changeRow) version() string {
	if r.c.NewTag == "" {
		return ""
	}
	return fmt.Sprintf("%s %s → %s", path.Base(r.c.Image.Repo.RepositoryStr()), r.c.OldTag, r.c.NewTag)
}

// Location is file:line.
func (r *changeRow) Location() string { return fmt.Sprintf("%s:%d", Escape(r.c.File), r.c.Line) }

// File is the file as named.
func (r *changeRow) File() string { return Escape(r.c.File) }

// Line is the reference's line.
func (r *changeRow) Line() int { return r.c.Line }

// Kind is where the reference was found (FROM, COPY --from, …).
func (r *changeRow) Kind() string { return Escape(string(r.c.Kind)) }

// Why says why an update policy moved the pin ("fixes CVE-…").
func (r *changeRow) Why() string { return Escape(r.c.Why) }

// FileKind is the kind of file (dockerfile, compose, kubernetes, …).
func (r *changeRow) FileKind() string { return Escape(string(r.c.FileKind)) }

// Old is the reference as written.
func (r *changeRow) Old() string { return Escape(r.c.Old) }

// New is the reference as it will be written.
func (r *changeRow) New() string { return Escape(r.c.New) }

// Digest is the digest pinned.
func (r *changeRow) Digest() string { return r.c.Digest.String() }

// MarshalJSON is the `--format json` object.
func (r *changeRow) MarshalJSON() ([]byte, error) {
	m := map[string]any{
		"File": r.c.File, "FileKind": string(r.c.FileKind), "Line": r.c.Line, "Kind": string(r.c.Kind), "Old": r.c.Old, "New": r.c.New, "Digest": r.Digest(),
	}
	if r.c.Why != "" {
		m["Why"] = r.c.Why
	}
	if r.c.NewTag != "" {
		m["OldTag"], m["NewTag"] = r.c.OldTag, r.c.NewTag
	}
	if r.explained != nil {
		m["Changes"] = r.explanation()
	}
	return json.Marshal(m)
}

// writeChangesMarkdown renders changes as a pull-request body; what comes
// from files and registries is in code spans (MarkdownCell).
func writeChangesMarkdown(w io.Writer, changes []pin.Change, explained []imagediff.Explanation) error {
	var b strings.Builder
	b.WriteString("### Base image updates (docker cgpin)\n\n| where | image | digest | what changed |\n|---|---|---|---|\n")
	for i, c := range changes {
		r := changeRow{c: c}
		if explained != nil {
			r.explained = &explained[i]
		}
		old := "(unpinned)"
		if c.Image.Pinned() {
			old = MarkdownCell(ShortDigest(c.Image.Digest.String()))
		}
		fmt.Fprintf(&b, "| %s | %s | %s → %s | %s |\n", MarkdownCell(fmt.Sprintf("%s:%d", c.File, c.Line)), MarkdownCell(c.Image.Name),
			old, MarkdownCell(ShortDigest(c.Digest.String())), MarkdownCell(r.explanation()))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// PolicyValue is one setting of the effective cgpin policy.
type PolicyValue struct {
	Key, Value, Source string
}

// WritePolicy prints the effective policy: key, value, where it came from.
func WritePolicy(w io.Writer, values []PolicyValue) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tVALUE\tSOURCE")
	for _, v := range values {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Key, Escape(v.Value), Escape(v.Source))
	}
	return tw.Flush()
}

// escapeDiff escapes every line of a unified diff as Escape does, but
// keeps its line breaks and tabs (indentation in Makefiles and heredocs).
func escapeDiff(diff string) string {
	if unsafeAt(strings.NewReplacer("\n", "", "\t", "").Replace(diff)) < 0 {
		return diff
	}
	lines := strings.Split(diff, "\n")
	for i, l := range lines {
		parts := strings.Split(l, "\t")
		for j := range parts {
			parts[j] = Escape(parts[j])
		}
		lines[i] = strings.Join(parts, "\t")
	}
	return strings.Join(lines, "\n")
}
