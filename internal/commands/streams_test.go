package commands

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/registrytest"
	"gotest.tools/v3/assert"
)

// A Chainguard repository's streams: a stopped 3.9, moving 3.12 and 3.13
// with -dev variants, epoch and unique tags grouped under their streams,
// a release candidate, and signature and word tags that are no streams.
func TestTagsStreams(t *testing.T) {
	s := registrytest.New(t)
	img := s.Push(t, "chainguard/python", "latest", now.Add(-24*time.Hour), "linux/amd64")
	s.TagAs(t, "chainguard/python", img.Digest, now.Add(-60*24*time.Hour), "3.9", "3.9-dev", "3.9.20-r0")
	s.TagAs(t, "chainguard/python", img.Digest, now.Add(-48*time.Hour), "3.12", "3.12-dev", "3.12.8-r0", "3.12.8-r1", "3.12-202611211207",
		"3.12-202611201207", "3.14-rc1", "sha256-"+strings.Repeat("a", 64)+".sig", "latest-dev", "3.12.x")
	s.TagAs(t, "chainguard/python", img.Digest, now.Add(-2*time.Hour), "3.13", "3.13-dev")
	cli, out, _ := newTestCLI(t, `{}`)
	opts := tagsOptions{image: s.Ref("chainguard/python", ""), streams: true, staleAfter: "30d", jobs: 4, now: func() time.Time { return now }}
	assert.NilError(t, runTags(context.Background(), cli, opts))
	want := `STREAM     FAMILY    TAGS      LAST BUILD                  STATUS                      NOTE
3.9        N.N       0         2026-09-24 (2 months ago)   stopped — newer: 3.13
3.12       N.N       2         2026-11-21 (2 days ago)     moving
3.13       N.N       0         2026-11-23 (2 hours ago)    moving
3.14-rc1   N.N-pre   0         2026-11-21 (2 days ago)     moving
3.9-dev    N.N-dev   0         2026-09-24 (2 months ago)   stopped — newer: 3.13-dev
3.12-dev   N.N-dev   0         2026-11-21 (2 days ago)     moving
3.13-dev   N.N-dev   0         2026-11-23 (2 hours ago)    moving
`
	got := out.String()
	assert.Equal(t, trimLines(got), want)
	for _, no := range []string{"sha256-", "latest", "3.12.x", "\x1b", "3.12.8-r0\n", "3.12-2026"} {
		assert.Assert(t, !strings.Contains(got, no), "%q in\n%s", no, got)
	}
	out.Reset()
	opts.format = "json"
	assert.NilError(t, runTags(context.Background(), cli, opts))
	assert.Assert(t, strings.Contains(out.String(), `"Newer":"3.13","Status":"stopped","Stream":"3.9"`), out.String())
	assert.Assert(t, strings.Contains(out.String(), `"Stream":"3.12","Tags":["3.12-202611211207","3.12-202611201207"]`), out.String())
}

// trimLines drops the spaces a table pads its last column with.
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}
