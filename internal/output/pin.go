package output

import (
	"encoding/json"
	"fmt"

	"github.com/docker-cghistory/docker-cghistory/internal/pin"
	"github.com/docker/cli/cli/command/formatter"
)

// Layouts for `docker cgpin`.
const (
	PinFormat      = "{{.Location}}  {{.Old}} → {{.New}}"
	PinCheckFormat = "{{.Location}}  {{.Old}}"
)

// WriteChanges renders pin changes, one per line.
func WriteChanges(ctx formatter.Context, changes []pin.Change) error {
	header := &changeRow{HeaderContext: formatter.HeaderContext{Header: formatter.SubHeaderContext{
		"Location": "LOCATION", "File": "FILE", "Line": "LINE", "Kind": "KIND",
		"Old": "OLD", "New": "NEW", "Digest": "DIGEST",
	}}}
	return ctx.Write(header, func(format func(formatter.SubContext) error) error {
		for _, c := range changes {
			if err := format(&changeRow{c: c}); err != nil {
				return err
			}
		}
		return nil
	})
}

type changeRow struct {
	formatter.HeaderContext
	c pin.Change
}

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
	return json.Marshal(map[string]any{
		"File": r.c.File, "Line": r.c.Line, "Kind": r.Kind(), "Old": r.c.Old, "New": r.c.New, "Digest": r.Digest(),
	})
}
