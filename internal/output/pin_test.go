package output

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/pin"
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"gotest.tools/v3/assert"
)

// TestPinJSONListsSkipped: what cgpin leaves alone is in --format json too,
// as objects with Skipped, after the changes (it used to be on stderr
// only, out of reach of the Action's json output and of scripts); warnings
// are about references pinned all the same, and stay on stderr. Tables
// and templates list changes only.
func TestPinJSONListsSkipped(t *testing.T) {
	d := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("b", 64)}
	plan := &pin.Plan{
		Files: []*pin.FilePlan{{Path: "Dockerfile", Changes: []pin.Change{{File: "Dockerfile", FileKind: ref.Dockerfile, Line: 1, Kind: "FROM",
			Image: ref.Image{Name: "alpine:3"}, Old: "alpine:3", New: "alpine:3@" + d.String(), Digest: d}}}},
		Notes: []pin.Note{
			{File: "Dockerfile", Line: 3, Ref: "${BASE}", Reason: "holds a variable"},
			{File: "compose.yaml", Line: 5, Ref: "acme/app:<dev>", Reason: "service app builds this image (build:)"},
			{File: "link.Dockerfile", Reason: "a symlink to /elsewhere, outside the paths given"},
			{File: "Dockerfile", Line: 7, Ref: "go:1", Reason: "not moved: rebuild, same packages", Held: true},
			{File: "Dockerfile", Line: 8, Ref: "cgr.dev/x/y:1", Reason: "ignored (cgr.dev/*)", Ignored: true},
			{File: "Dockerfile", Line: 1, Ref: "alpine:3", Reason: "the mirror is stale", Warning: true},
		},
	}
	for _, mode := range []PinMode{PinWrite, PinCheck, PinDryRun} {
		var out, errOut bytes.Buffer
		assert.NilError(t, WritePin(&out, &errOut, "json", PinReport{Plan: plan, Mode: mode}))
		var got []map[string]any
		for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
			var m map[string]any
			assert.NilError(t, json.Unmarshal([]byte(line), &m), line)
			got = append(got, m)
		}
		assert.DeepEqual(t, got, []map[string]any{
			{"File": "Dockerfile", "FileKind": "dockerfile", "Line": 1.0, "Kind": "FROM", "Old": "alpine:3", "New": "alpine:3@" + d.String(), "Digest": d.String()},
			{"File": "Dockerfile", "Line": 3.0, "Old": "${BASE}", "Reason": "holds a variable", "Skipped": true},
			{"File": "compose.yaml", "Line": 5.0, "Old": "acme/app:<dev>", "Reason": "service app builds this image (build:)", "Skipped": true},
			{"File": "link.Dockerfile", "Reason": "a symlink to /elsewhere, outside the paths given", "Skipped": true},
			{"File": "Dockerfile", "Line": 7.0, "Old": "go:1", "Reason": "not moved: rebuild, same packages", "Skipped": true, "Held": true},
			{"File": "Dockerfile", "Line": 8.0, "Old": "cgr.dev/x/y:1", "Reason": "ignored (cgr.dev/*)", "Skipped": true, "Ignored": true},
		})
		assert.Assert(t, strings.Contains(errOut.String(), "Dockerfile:3: ${BASE}: left alone: holds a variable"), errOut.String())
	}
	for _, format := range []string{"", "{{.Location}} {{.New}}"} {
		var out, errOut bytes.Buffer
		assert.NilError(t, WritePin(&out, &errOut, format, PinReport{Plan: plan, Mode: PinWrite}))
		assert.Equal(t, strings.Count(out.String(), "\n"), 1, out.String())
	}
}
