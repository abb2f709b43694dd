package output

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/pin"
	"github.com/docker/cli/cli/command/formatter"
)

// Layouts for `docker cgpin`.
const (
	PinFormat        = "{{.Location}}  {{.Old}} → {{.New}}"
	PinCheckFormat   = "{{.Location}}  {{.Old}}"
	PinExplainFormat = "{{.Location}}  {{.Old}} → {{.New}}\n    {{.Explanation}}"
)

// WriteChanges renders pin changes, one per line; explain (may be nil)
// holds a summary of what each change brings, by Location.
func WriteChanges(ctx formatter.Context, changes []pin.Change, explain map[string]string) error {
	header := &changeRow{HeaderContext: formatter.HeaderContext{Header: formatter.SubHeaderContext{
		"Location": "LOCATION", "File": "FILE", "Line": "LINE", "Kind": "KIND",
		"Old": "OLD", "New": "NEW", "Digest": "DIGEST", "Explanation": "CHANGES",
	}}}
	return ctx.Write(header, func(format func(formatter.SubContext) error) error {
		for _, c := range changes {
			if err := format(&changeRow{c: c, explain: explain}); err != nil {
				return err
			}
		}
		return nil
	})
}

type changeRow struct {
	formatter.HeaderContext
	c       pin.Change
	explain map[string]string
}

// Explanation summarises what the new digest brings (--explain).
func (r *changeRow) Explanation() string { return r.explain[r.Location()] }

// Location is file:line.
func (r *changeRow) Location() string { return fmt.Sprintf("%s:%d", r.c.File, r.c.Line) }

// File is the Dockerfile as named.
func (r *changeRow) File() string { return r.c.File }

// Line is the reference's line.
func (r *changeRow) Line() int { return r.c.Line }

// Kind is where the reference was found (FROM, COPY --from, …).
func (r *changeRow) Kind() string { return r.c.Kind.String() }

// Old is the reference as written.
func (r *changeRow) Old() string { return r.c.Old }

// New is the reference as it will be written.
func (r *changeRow) New() string { return r.c.New }

// Digest is the digest pinned.
func (r *changeRow) Digest() string { return r.c.Digest.String() }

// MarshalJSON is the `--format json` object.
func (r *changeRow) MarshalJSON() ([]byte, error) {
	m := map[string]any{
		"File": r.c.File, "Line": r.c.Line, "Kind": r.Kind(), "Old": r.c.Old, "New": r.c.New, "Digest": r.Digest(),
	}
	if r.explain != nil {
		m["Changes"] = r.Explanation()
	}
	return json.Marshal(m)
}

// WriteChangesMarkdown renders changes as a pull-request body.
func WriteChangesMarkdown(w io.Writer, changes []pin.Change, explain map[string]string) error {
	var b strings.Builder
	b.WriteString("### Base image updates (docker cgpin)\n\n| where | image | digest | what changed |\n|---|---|---|---|\n")
	for _, c := range changes {
		r := changeRow{c: c, explain: explain}
		name, _, _ := strings.Cut(c.New, "@")
		old := "(unpinned)"
		if _, d, ok := strings.Cut(c.Old, "@"); ok {
			old = "`" + ShortDigest(d) + "`"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s → `%s` | %s |\n", r.Location(), name, old, ShortDigest(c.Digest.String()),
			strings.ReplaceAll(r.Explanation(), "|", "\\|"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
