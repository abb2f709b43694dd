package output

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/policy"
	"github.com/docker/cli/cli/command/formatter"
)

// OutdatedTableFormat is the default layout of `docker cgpin --outdated`.
const OutdatedTableFormat = "table {{.Location}}\t{{.Image}}\t{{.Pinned}}\t{{.Current}}\t{{.Behind}}\t{{.Days}}\t{{.Packages}}\t{{.Fixed}}\t{{.Note}}"

// WriteOutdated renders an outdated report: a table, JSON lines, a Go
// template, or ("markdown") a table for a pull request or issue.
func WriteOutdated(w io.Writer, format string, now time.Time, lags []policy.Lag) error {
	if format == "markdown" {
		return writeOutdatedMarkdown(w, now, lags)
	}
	ctx := formatter.Context{Output: w, Format: Format(format, false, OutdatedTableFormat, "")}
	header := &lagRow{HeaderContext: formatter.HeaderContext{Header: formatter.SubHeaderContext{
		"Location": "LOCATION", "File": "FILE", "Line": "LINE", "Image": "IMAGE", "Pinned": "PINNED", "Current": "CURRENT",
		"Behind": "BEHIND", "Days": "DAYS", "Packages": "PACKAGES", "Fixed": "CVES FIXED", "Note": "NOTE",
	}}}
	return ctx.Write(header, func(format func(formatter.SubContext) error) error {
		for _, l := range lags {
			if err := format(&lagRow{l: l, now: now}); err != nil {
				return err
			}
		}
		return nil
	})
}

type lagRow struct {
	formatter.HeaderContext
	l   policy.Lag
	now time.Time
}

// Location is file:line.
func (r *lagRow) Location() string { return fmt.Sprintf("%s:%d", Escape(r.l.File), r.l.Found.Line) }

// File is the file as named.
func (r *lagRow) File() string { return Escape(r.l.File) }

// Line is the reference's line.
func (r *lagRow) Line() int { return r.l.Found.Line }

// Image is the reference as written, without its digest.
func (r *lagRow) Image() string { return Escape(r.l.Found.Image.Name) }

// Pinned is the pinned build's date, or "unpinned".
func (r *lagRow) Pinned() string {
	switch {
	case !r.l.Pinned():
		return "unpinned"
	case r.l.PinnedAt.IsZero():
		return ShortDigest(r.l.Found.Image.Digest.String())
	}
	return r.l.PinnedAt.UTC().Format(time.DateOnly)
}

// Current is the newest build's date (or digest when no date is known).
func (r *lagRow) Current() string {
	if r.l.CurrentAt.IsZero() {
		return ShortDigest(r.l.Current.String())
	}
	return r.l.CurrentAt.UTC().Format(time.DateOnly)
}

// Behind counts the builds after the pinned one.
func (r *lagRow) Behind() string {
	switch {
	case !r.l.Pinned():
		return ""
	case r.l.Behind < 0:
		return "?"
	}
	return fmt.Sprint(r.l.Behind)
}

// Days is how long a newer build has been out.
func (r *lagRow) Days() string {
	if r.l.Since.IsZero() {
		return ""
	}
	return fmt.Sprint(int(r.now.Sub(r.l.Since).Hours() / 24))
}

// Packages counts the packages that changed since the pin.
func (r *lagRow) Packages() string {
	if r.l.Behind <= 0 {
		return ""
	}
	return fmt.Sprint(r.l.Packages)
}

// Fixed lists the CVEs fixed since the pin.
func (r *lagRow) Fixed() string { return Escape(strings.Join(r.l.Fixed, ", ")) }

// Note says what else is worth knowing: a stale tag, what is unknown.
func (r *lagRow) Note() string { return Escape(r.note()) }

// note is Note unescaped, for JSON and markdown.
func (r *lagRow) note() string {
	n := r.l.Note
	if r.l.Stopped {
		stopped := fmt.Sprintf("%s: stopped %s — newer: %s (moving)", r.l.Found.Image.Tagged().TagStr(), r.l.CurrentAt.UTC().Format(time.DateOnly), r.l.Newer)
		if n == "" {
			return stopped
		}
		return stopped + "; " + n
	}
	if r.l.Stale {
		stale := fmt.Sprintf("stale: no build for %d days (end of life?)", int(r.now.Sub(r.l.CurrentAt).Hours()/24))
		if n == "" {
			return stale
		}
		return stale + "; " + n
	}
	return n
}

// MarshalJSON is the `--format json` object.
func (r *lagRow) MarshalJSON() ([]byte, error) {
	l := r.l
	v := map[string]any{
		"File": l.File, "FileKind": string(l.FileKind), "Line": l.Found.Line, "Image": l.Found.Image.Name,
		"Pinned": l.Pinned(), "Current": l.Current.String(), "Stale": l.Stale, "Note": r.note(),
		"CVEsFixed": append([]string{}, l.Fixed...), "Stopped": l.Stopped,
	}
	if l.Newer != "" {
		v["NewerStream"] = l.Newer
	}
	if !l.CurrentAt.IsZero() {
		v["CurrentAt"] = l.CurrentAt.UTC().Format(time.RFC3339)
	}
	if l.Pinned() {
		v["PinnedDigest"] = l.Found.Image.Digest.String()
		v["BuildsBehind"] = l.Behind
		v["PackagesChanged"] = l.Packages
		if !l.PinnedAt.IsZero() {
			v["PinnedAt"] = l.PinnedAt.UTC().Format(time.RFC3339)
		}
		if !l.Since.IsZero() {
			v["BehindSince"] = l.Since.UTC().Format(time.RFC3339)
			v["DaysBehind"] = int(r.now.Sub(l.Since).Hours() / 24)
		}
	}
	return json.Marshal(v)
}

func writeOutdatedMarkdown(w io.Writer, now time.Time, lags []policy.Lag) error {
	var b strings.Builder
	b.WriteString("### Outdated base images (docker cgpin --outdated)\n\n| where | image | pinned | current | builds behind | days | packages changed | CVEs fixed | note |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, l := range lags {
		r := &lagRow{l: l, now: now}
		cells := []string{MarkdownCell(fmt.Sprintf("%s:%d", l.File, l.Found.Line)), MarkdownCell(l.Found.Image.Name), r.Pinned(), r.Current(),
			r.Behind(), r.Days(), r.Packages(), MarkdownCell(strings.Join(l.Fixed, ", ")), MarkdownCell(r.note())}
		fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
