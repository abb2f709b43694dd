package output

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/imagediff"
	"github.com/docker-cghistory/docker-cghistory/internal/inventory"
	"github.com/docker-cghistory/docker-cghistory/internal/vuln"
	"github.com/docker/cli/templates"
	"github.com/morikuni/aec"
)

// DiffDocument is the JSON shape of `docker cgdiff --format json`: the
// retired Chainguard Diff API's fields, plus the two images.
type DiffDocument struct {
	From            DiffImage            `json:"from"`
	To              DiffImage            `json:"to"`
	Packages        DiffPackages         `json:"packages"`
	Vulnerabilities DiffVulns            `json:"vulnerabilities"`
	Config          map[string]DiffValue `json:"config"`
	Warnings        []string             `json:"warnings"`
}

// DiffImage describes one side.
type DiffImage struct {
	Reference string `json:"reference"`
	Platform  string `json:"platform"`
	Size      int64  `json:"size"`
	Source    string `json:"source"`
	// SBOMVerified says the SBOM attestation's signature was verified
	// (--verify), and SBOMVerifiedBy by which identity.
	SBOMVerified   bool   `json:"sbomVerified"`
	SBOMVerifiedBy string `json:"sbomVerifiedBy,omitempty"`
}

// DiffPackages lists package changes.
type DiffPackages struct {
	Added   []DiffPackage `json:"added"`
	Removed []DiffPackage `json:"removed"`
	Changed []DiffChange  `json:"changed"`
}

// DiffPackage is one package.
type DiffPackage struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Reference string `json:"reference"`
}

// DiffChange is a package at two versions.
type DiffChange struct {
	Name     string      `json:"name"`
	Current  DiffVersion `json:"current"`
	Previous DiffVersion `json:"previous"`
	// Upgrade is false for a downgrade.
	Upgrade bool `json:"upgrade"`
}

// DiffVersion is a version and its purl.
type DiffVersion struct {
	Version   string `json:"version"`
	Reference string `json:"reference"`
}

// DiffVulns lists vulnerabilities introduced (added) and fixed (removed).
type DiffVulns struct {
	Added   []DiffVuln `json:"added"`
	Removed []DiffVuln `json:"removed"`
}

// DiffVuln is one advisory.
type DiffVuln struct {
	ID        string `json:"id"`
	Reference string `json:"reference"`
	Severity  string `json:"severity"`
}

// DiffValue is a configuration field's two values.
type DiffValue struct {
	Previous string `json:"previous"`
	Current  string `json:"current"`
}

// NewDiffDocument converts a result to its JSON shape, every value exact.
func NewDiffDocument(r *imagediff.Result) DiffDocument { return newDiffDocument(r, raw) }

func raw(s string) string { return s }

// newDiffDocument is the JSON shape with every string passed through esc:
// raw for JSON, Escape for a Go template's (human) output.
func newDiffDocument(r *imagediff.Result, esc func(string) string) DiffDocument {
	doc := DiffDocument{
		From: side(r.From, esc), To: side(r.To, esc),
		Packages:        DiffPackages{Added: []DiffPackage{}, Removed: []DiffPackage{}, Changed: []DiffChange{}},
		Vulnerabilities: DiffVulns{Added: []DiffVuln{}, Removed: []DiffVuln{}},
		Config:          map[string]DiffValue{},
		Warnings:        []string{},
	}
	for _, w := range r.Warnings {
		doc.Warnings = append(doc.Warnings, esc(w))
	}
	for _, p := range r.Added {
		doc.Packages.Added = append(doc.Packages.Added, DiffPackage{esc(p.Name), esc(p.Version), esc(p.PURL)})
	}
	for _, p := range r.Removed {
		doc.Packages.Removed = append(doc.Packages.Removed, DiffPackage{esc(p.Name), esc(p.Version), esc(p.PURL)})
	}
	for _, c := range r.Changed {
		doc.Packages.Changed = append(doc.Packages.Changed, DiffChange{Name: esc(c.Current.Name),
			Current:  DiffVersion{esc(c.Current.Version), esc(c.Current.PURL)},
			Previous: DiffVersion{esc(c.Previous.Version), esc(c.Previous.PURL)}, Upgrade: c.Upgrade})
	}
	for _, f := range r.VulnsAdded {
		doc.Vulnerabilities.Added = append(doc.Vulnerabilities.Added, DiffVuln{esc(f.ID), esc(f.Reference), esc(f.Severity)})
	}
	for _, f := range r.VulnsRemoved {
		doc.Vulnerabilities.Removed = append(doc.Vulnerabilities.Removed, DiffVuln{esc(f.ID), esc(f.Reference), esc(f.Severity)})
	}
	for _, c := range r.Config {
		doc.Config[esc(c.Field)] = DiffValue{esc(c.Previous), esc(c.Current)}
	}
	return doc
}

func side(img imagediff.Image, esc func(string) string) DiffImage {
	d := DiffImage{Reference: esc(img.Ref), Platform: esc(img.Platform.String()), Size: img.Size}
	if img.Inventory != nil {
		d.Source = esc(img.Inventory.Source)
		d.SBOMVerifiedBy = esc(img.Inventory.VerifiedBy)
		d.SBOMVerified = img.Inventory.VerifiedBy != ""
	}
	return d
}

// DiffOptions control rendering.
type DiffOptions struct {
	Format   string // table (""), json, markdown, or a Go template
	Terminal Terminal
}

// WriteDiff renders a comparison.
func WriteDiff(w io.Writer, r *imagediff.Result, opts DiffOptions) error {
	switch opts.Format {
	case "", "table":
		return writeDiffTable(w, r, opts.Terminal)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(NewDiffDocument(r))
	case "markdown":
		return writeDiffMarkdown(w, r)
	}
	tmpl, err := templates.Parse(opts.Format)
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	if err := tmpl.Execute(w, newDiffDocument(r, Escape)); err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	_, err = fmt.Fprintln(w)
	return err
}

var (
	green  = aec.GreenF
	red    = aec.RedF
	yellow = aec.YellowF
	bold   = aec.Bold
)

func writeDiffTable(w io.Writer, r *imagediff.Result, term Terminal) error {
	c := func(a aec.ANSI, s string) string { return term.paint(a, s) }
	e := Escape
	var b strings.Builder
	fmt.Fprintf(&b, "FROM  %s  (%s, %s, %s)\n", e(r.From.Ref), e(r.From.Platform.String()), Size(r.From.Size), e(source(r.From)))
	fmt.Fprintf(&b, "TO    %s  (%s, %s, %s)\n", e(r.To.Ref), e(r.To.Platform.String()), Size(r.To.Size), e(source(r.To)))
	fmt.Fprintf(&b, "Size  %s\n", sizeDelta(r.To.Size-r.From.Size))
	fmt.Fprintf(&b, "\n%s\n", c(bold, fmt.Sprintf("Packages: %d added, %d removed, %d changed", len(r.Added), len(r.Removed), len(r.Changed))))
	width := 0
	for _, p := range append(append([]inventory.Package{}, r.Added...), r.Removed...) {
		width = max(width, len(e(p.Name)))
	}
	for _, ch := range r.Changed {
		width = max(width, len(e(ch.Current.Name)))
	}
	for _, p := range r.Added {
		fmt.Fprintf(&b, "  %s %-*s  %s\n", c(green, "+"), width, e(p.Name), e(p.Version))
	}
	for _, p := range r.Removed {
		fmt.Fprintf(&b, "  %s %-*s  %s\n", c(red, "-"), width, e(p.Name), e(p.Version))
	}
	for _, ch := range r.Changed {
		note := ""
		if !ch.Upgrade {
			note = "  (downgrade)"
		}
		if fixed := r.FixedBy(ch); len(fixed) > 0 {
			note += "  fixes " + e(strings.Join(fixed, ", "))
		}
		fmt.Fprintf(&b, "  %s %-*s  %s → %s%s\n", c(yellow, "~"), width, e(ch.Current.Name), e(ch.Previous.Version), e(ch.Current.Version), note)
	}
	if r.VulnsChecked || len(r.VulnsAdded)+len(r.VulnsRemoved) > 0 {
		fmt.Fprintf(&b, "\n%s\n", c(bold, fmt.Sprintf("Vulnerabilities: %d fixed, %d introduced (%d → %d)",
			len(r.VulnsRemoved), len(r.VulnsAdded), countIDs(r.From.Findings), countIDs(r.To.Findings))))
		for _, f := range r.VulnsRemoved {
			fmt.Fprintf(&b, "  %s %s  %s %s%s\n", c(green, "-"), e(f.ID), e(f.Package), e(f.Version), e(fixedIn(f)))
		}
		for _, f := range r.VulnsAdded {
			fmt.Fprintf(&b, "  %s %s  %s %s%s\n", c(red, "+"), e(f.ID), e(f.Package), e(f.Version), e(fixedIn(f)))
		}
	}
	if len(r.Config) > 0 {
		fmt.Fprintf(&b, "\n%s\n", c(bold, fmt.Sprintf("Config: %d changed", len(r.Config))))
		for _, cc := range r.Config {
			fmt.Fprintf(&b, "  %s %s: %s → %s\n", c(yellow, "~"), e(cc.Field), e(orNone(cc.Previous)), e(orNone(cc.Current)))
		}
	}
	for _, wmsg := range r.Warnings {
		fmt.Fprintf(&b, "\nWARNING: %s\n", e(wmsg))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// source is where the packages came from, and who signed the SBOM.
func source(img imagediff.Image) string {
	if img.Inventory.VerifiedBy != "" {
		return img.Inventory.Source + " signed by " + img.Inventory.VerifiedBy
	}
	return img.Inventory.Source
}

func countIDs(fs []vuln.Finding) int {
	seen := map[string]bool{}
	for _, f := range fs {
		seen[f.ID] = true
	}
	return len(seen)
}

func fixedIn(f vuln.Finding) string {
	if f.FixedIn == "" {
		return ""
	}
	return " (fixed in " + f.FixedIn + ")"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func sizeDelta(d int64) string {
	switch {
	case d > 0:
		return "+" + Size(d)
	case d < 0:
		return "-" + Size(-d)
	}
	return "unchanged"
}

// writeDiffMarkdown renders a comparison for a pull request; what comes
// from registries and images is in code spans (MarkdownCode, MarkdownCell).
func writeDiffMarkdown(w io.Writer, r *imagediff.Result) error {
	c, m := MarkdownCell, MarkdownCode
	var b strings.Builder
	fmt.Fprintf(&b, "### Image changes\n\n| | image | platform | size |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| from | %s | %s | %s |\n| to | %s | %s | %s (%s) |\n\n",
		c(r.From.Ref), c(r.From.Platform.String()), Size(r.From.Size), c(r.To.Ref), c(r.To.Platform.String()), Size(r.To.Size), sizeDelta(r.To.Size-r.From.Size))
	fmt.Fprintf(&b, "#### Packages: %d added, %d removed, %d changed\n\n", len(r.Added), len(r.Removed), len(r.Changed))
	if len(r.Added)+len(r.Removed)+len(r.Changed) > 0 {
		b.WriteString("| | package | previous | current |\n|---|---|---|---|\n")
		for _, p := range r.Added {
			fmt.Fprintf(&b, "| ➕ | %s | | %s |\n", c(p.Name), c(p.Version))
		}
		for _, p := range r.Removed {
			fmt.Fprintf(&b, "| ➖ | %s | %s | |\n", c(p.Name), c(p.Version))
		}
		for _, ch := range r.Changed {
			mark := "⬆️"
			if !ch.Upgrade {
				mark = "⬇️"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mark, c(ch.Current.Name), c(ch.Previous.Version), c(ch.Current.Version))
		}
		b.WriteString("\n")
	}
	if r.VulnsChecked || len(r.VulnsAdded)+len(r.VulnsRemoved) > 0 {
		fmt.Fprintf(&b, "#### Vulnerabilities: %d fixed, %d introduced\n\n", len(r.VulnsRemoved), len(r.VulnsAdded))
		for _, f := range r.VulnsRemoved {
			fmt.Fprintf(&b, "- ✅ fixed %s (%s %s)\n", m(f.ID), m(f.Package), m(f.Version))
		}
		for _, f := range r.VulnsAdded {
			fmt.Fprintf(&b, "- ⚠️ introduced %s (%s %s)\n", m(f.ID), m(f.Package), m(f.Version))
		}
		b.WriteString("\n")
	}
	if len(r.Config) > 0 {
		b.WriteString("#### Config\n\n| field | previous | current |\n|---|---|---|\n")
		for _, cc := range r.Config {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", c(cc.Field), c(cc.Previous), c(cc.Current))
		}
		b.WriteString("\n")
	}
	for _, wmsg := range r.Warnings {
		fmt.Fprintf(&b, "> **Warning:** %s\n\n", m(wmsg))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
