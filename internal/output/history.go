package output

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/imagediff"
	"github.com/docker-cghistory/docker-cghistory/internal/sigverify"
	"github.com/docker/cli/cli/command/formatter"
)

// Table layouts for `docker cghistory`.
const (
	HistoryTableFormat          = "table {{.UpdatedSince}}\t{{.UpdatedAt}}\t{{.Digest}}"
	HistoryPlatformsTableFormat = "table {{.UpdatedSince}}\t{{.UpdatedAt}}\t{{.Digest}}\t{{.Platforms}}"
	HistoryQuietFormat          = "{{.Digest}}"
	HistoryChangesTableFormat   = "table {{.UpdatedSince}}\t{{.UpdatedAt}}\t{{.Digest}}\t{{.Changes}}"
)

// HistoryFormats picks the table and quiet layouts: with --changes a
// CHANGES column, with platforms a PLATFORMS column; with one platform
// chosen, -q prints that platform's digests.
func HistoryFormats(changes, platforms, onePlatform, signatures bool) (table, quiet string) {
	table, quiet = HistoryTableFormat, HistoryQuietFormat
	switch {
	case changes:
		table = HistoryChangesTableFormat
	case platforms:
		table = HistoryPlatformsTableFormat
	}
	if signatures {
		table = strings.Replace(table, "\t{{.Digest}}", "\t{{.Digest}}\t{{.Signature}}", 1)
	}
	if onePlatform {
		quiet = "{{.PlatformDigest}}"
	}
	return table, quiet
}

// HistoryContext describes what a history listing is about.
type HistoryContext struct {
	formatter.Context
	Image     string // repository, e.g. cgr.dev/chainguard/nginx
	Tag       string
	Platforms bool // entries carry resolved platforms
	Now       time.Time
	// Changes explains each build against the one before, in the order of
	// the entries (--changes); nil when not asked.
	Changes []imagediff.Explanation
	// Upstream is the repository that answered for a mirror's history.
	Upstream string
	// Signatures are the builds' verifications (--verify), in order.
	Signatures []sigverify.Outcome
}

// WriteHistory renders entries (already newest first).
func WriteHistory(ctx HistoryContext, entries []history.Entry) error {
	header := &historyRow{HeaderContext: formatter.HeaderContext{Header: formatter.SubHeaderContext{
		"Image":        "IMAGE",
		"Tag":          "TAG",
		"UpdatedSince": "UPDATED",
		"UpdatedAt":    "TIMESTAMP",
		"Digest":       "DIGEST",
		"Platforms":    "PLATFORMS",
		"Changes":      "CHANGES",
		"Upstream":     "UPSTREAM",
		"Signature":    "SIGNATURE",
	}}}
	return ctx.Write(header, func(format func(formatter.SubContext) error) error {
		for i, e := range entries {
			row := &historyRow{ctx: &ctx, e: e}
			if i < len(ctx.Changes) {
				row.change = &ctx.Changes[i]
			}
			if i < len(ctx.Signatures) {
				row.signature = &ctx.Signatures[i]
			}
			if err := format(row); err != nil {
				return err
			}
		}
		return nil
	})
}

type historyRow struct {
	formatter.HeaderContext
	ctx       *HistoryContext
	e         history.Entry
	change    *imagediff.Explanation
	signature *sigverify.Outcome
}

// Signature says whether the build's signature verifies (--verify).
func (r *historyRow) Signature() string {
	switch {
	case r.signature == nil:
		return ""
	case r.signature.Err == nil:
		return "verified"
	}
	return Escape(r.signatureText())
}

// signatureText is the verification's outcome, raw (JSON's Reason).
func (r *historyRow) signatureText() string {
	var e *sigverify.Error
	if errors.As(r.signature.Err, &e) {
		return e.Reason.Error()
	}
	return "error: " + r.signature.Err.Error()
}

// Image is the repository.
func (r *historyRow) Image() string { return Escape(r.ctx.Image) }

// Upstream is the repository whose history a mirror's tag showed.
func (r *historyRow) Upstream() string { return Escape(r.ctx.Upstream) }

// Tag is the tag whose history this is.
func (r *historyRow) Tag() string { return Escape(r.ctx.Tag) }

// Digest is the digest the tag pointed to (short unless --no-trunc).
func (r *historyRow) Digest() string {
	if r.ctx.Trunc {
		return ShortDigest(r.e.Digest.String())
	}
	return r.e.Digest.String()
}

// UpdatedAt is the time of the update, RFC 3339 in UTC ("" when unknown).
func (r *historyRow) UpdatedAt() string {
	if r.e.UpdatedAt.IsZero() {
		return ""
	}
	return r.e.UpdatedAt.UTC().Format(time.RFC3339)
}

// UpdatedSince is the humanised age of the update.
func (r *historyRow) UpdatedSince() string { return Since(r.e.UpdatedAt, r.ctx.Now) }

// Changes summarises what changed from the build before (--changes).
func (r *historyRow) Changes() string {
	if r.change == nil {
		return ""
	}
	return Escape(r.changes())
}

// changes is Changes unescaped, for JSON.
func (r *historyRow) changes() string { return summary(*r.change, "cannot summarise") }

// Platforms lists each platform as "os/arch: digest (size)".
func (r *historyRow) Platforms() string {
	parts := make([]string, 0, len(r.e.Platforms))
	for _, p := range r.e.Platforms {
		d := p.Digest.String()
		if r.ctx.Trunc {
			d = ShortDigest(d)
		}
		parts = append(parts, fmt.Sprintf("%s: %s (%s)", Escape(p.Platform.String()), d, Size(p.Size)))
	}
	return strings.Join(parts, ", ")
}

// PlatformDigest lists the platform images' digests in full, one per line:
// with --platform, the digest to pin for that platform.
func (r *historyRow) PlatformDigest() string {
	ds := make([]string, 0, len(r.e.Platforms))
	for _, p := range r.e.Platforms {
		ds = append(ds, p.Digest.String())
	}
	return strings.Join(ds, "\n")
}

type signatureJSON struct {
	Verified                 bool
	Identity, Issuer, Format string `json:",omitempty"`
	Reason, Error            string `json:",omitempty"`
}

type platformJSON struct {
	Platform string
	OS       string
	Arch     string
	Variant  string `json:",omitempty"`
	Digest   string
	Size     int64
}

// MarshalJSON is the `--format json` object: full digests, RFC 3339 times,
// and Platforms only when they were resolved.
func (r *historyRow) MarshalJSON() ([]byte, error) {
	v := struct {
		Image        string
		Tag          string
		Digest       string
		UpdatedAt    string
		UpdatedSince string
		Platforms    *[]platformJSON `json:",omitempty"`
		Changes      *string         `json:",omitempty"`
		Upstream     string          `json:",omitempty"`
		Signature    *signatureJSON  `json:",omitempty"`
	}{
		Image: r.ctx.Image, Tag: r.ctx.Tag, Digest: r.e.Digest.String(), Upstream: r.ctx.Upstream,
		UpdatedAt: r.UpdatedAt(), UpdatedSince: r.UpdatedSince(),
	}
	if r.ctx.Changes != nil {
		c := ""
		if r.change != nil {
			c = r.changes()
		}
		v.Changes = &c
	}
	if r.signature != nil {
		v.Signature = &signatureJSON{Verified: r.signature.Err == nil, Identity: r.signature.Result.Identity,
			Issuer: r.signature.Result.Issuer, Format: r.signature.Result.Format}
		if r.signature.Err != nil {
			v.Signature.Reason = r.signatureText()
			v.Signature.Error = r.signature.Err.Error()
		}
	}
	if r.ctx.Platforms {
		ps := []platformJSON{}
		for _, p := range r.e.Platforms {
			ps = append(ps, platformJSON{
				Platform: p.Platform.String(), OS: p.Platform.OS, Arch: p.Platform.Architecture,
				Variant: p.Platform.Variant, Digest: p.Digest.String(), Size: p.Size,
			})
		}
		v.Platforms = &ps
	}
	return json.Marshal(v)
}
