package output

import (
	"encoding/json"

	"github.com/docker/cli/cli/command/formatter"
)

// Table layouts for `docker cghistory tags`.
const (
	TagsTableFormat = "table {{.Tag}}"
	TagsQuietFormat = "{{.Tag}}"
)

// TagsContext describes a tag listing.
type TagsContext struct {
	formatter.Context
	Image string
}

// WriteTags renders tag names.
func WriteTags(ctx TagsContext, tags []string) error {
	header := &tagRow{HeaderContext: formatter.HeaderContext{Header: formatter.SubHeaderContext{
		"Image": "IMAGE", "Tag": "TAG", "Reference": "REFERENCE",
	}}}
	return ctx.Write(header, func(format func(formatter.SubContext) error) error {
		for _, t := range tags {
			if err := format(&tagRow{image: ctx.Image, tag: t}); err != nil {
				return err
			}
		}
		return nil
	})
}

type tagRow struct {
	formatter.HeaderContext
	image, tag string
}

// Image is the repository.
func (r *tagRow) Image() string { return Escape(r.image) }

// Tag is the tag name.
func (r *tagRow) Tag() string { return Escape(r.tag) }

// Reference is IMAGE:TAG.
func (r *tagRow) Reference() string { return Escape(r.image + ":" + r.tag) }

// MarshalJSON is the `--format json` object.
func (r *tagRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"Image": r.image, "Tag": r.tag, "Reference": r.image + ":" + r.tag})
}
