package output

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/history"
	"github.com/docker-cghistory/docker-cghistory/internal/tagver"
	"github.com/docker/cli/cli/command/formatter"
)

// Table layouts for `docker cghistory tags --streams`.
const (
	StreamsTableFormat = "table {{.Stream}}\t{{.Family}}\t{{.Builds}}\t{{.LastBuild}}\t{{.Status}}\t{{.Note}}"
	StreamsQuietFormat = "{{.Stream}}"
)

// StreamsContext describes a listing of version streams.
type StreamsContext struct {
	formatter.Context
	Image string
	Now   time.Time
}

// WriteStreams renders a repository's version streams.
func WriteStreams(ctx StreamsContext, streams []history.Stream) error {
	header := &streamRow{HeaderContext: formatter.HeaderContext{Header: formatter.SubHeaderContext{
		"Image": "IMAGE", "Stream": "STREAM", "Family": "FAMILY", "Builds": "TAGS", "LastBuild": "LAST BUILD",
		"Status": "STATUS", "Newer": "NEWER", "Note": "NOTE",
	}}}
	return ctx.Write(header, func(format func(formatter.SubContext) error) error {
		for _, s := range streams {
			if err := format(&streamRow{image: ctx.Image, s: s, now: ctx.Now}); err != nil {
				return err
			}
		}
		return nil
	})
}

type streamRow struct {
	formatter.HeaderContext
	image string
	s     history.Stream
	now   time.Time
}

// Image is the repository.
func (r *streamRow) Image() string { return Escape(r.image) }

// Stream is the stream tag ("3.12-dev").
func (r *streamRow) Stream() string { return Escape(r.s.Tag) }

// Family is the stream's shape and suffixes ("N.N-dev"): compatible
// streams share it.
func (r *streamRow) Family() string { return Escape(tagver.Family(r.s.Tag)) }

// Builds counts the stream's unique and epoch tags.
func (r *streamRow) Builds() int { return len(r.s.Builds) }

// LastBuild is when the stream's newest build came out.
func (r *streamRow) LastBuild() string {
	if r.s.Built.IsZero() {
		return ""
	}
	return r.s.Built.UTC().Format(time.DateOnly) + " (" + Since(r.s.Built, r.now) + ")"
}

// Status is "moving" or "stopped" (with the newer stream that moves).
func (r *streamRow) Status() string { return Escape(r.status()) }

func (r *streamRow) status() string {
	switch {
	case r.s.Built.IsZero():
		return "?"
	case r.s.Moving:
		return "moving"
	case r.s.Newer != "":
		return "stopped — newer: " + r.s.Newer
	}
	return "stopped"
}

// Newer is the newest compatible stream that still moves, for one that stopped.
func (r *streamRow) Newer() string { return Escape(r.s.Newer) }

// Note says what is unknown.
func (r *streamRow) Note() string { return Escape(r.s.Note) }

// MarshalJSON is the `--format json` object.
func (r *streamRow) MarshalJSON() ([]byte, error) {
	v := map[string]any{"Image": r.image, "Stream": r.s.Tag, "Family": tagver.Family(r.s.Tag),
		"Tags": append([]string{}, r.s.Builds...), "Moving": r.s.Moving, "Status": strings.SplitN(r.status(), " ", 2)[0]}
	if !r.s.Built.IsZero() {
		v["LastBuildAt"], v["LastBuildFrom"] = r.s.Built.UTC().Format(time.RFC3339), r.s.From
	}
	if r.s.Newer != "" {
		v["Newer"] = r.s.Newer
	}
	if r.s.Note != "" {
		v["Note"] = r.s.Note
	}
	return json.Marshal(v)
}
